/**
 * The scenario language: parse, validate, expand parameters, and report problems.
 *
 *   const { scenario, diagnostics } = loadScenario(text, "tests/scenarios/x.scn");
 *   if (diagnostics.length > 0) throw new ScenarioError(diagnostics);
 *   for (const run of expandParameters(scenario)) …
 */
export type * from "./ast.js";
export type { Diagnostic } from "./diagnostic.js";
export { parseScenario, type ParseResult } from "./parse.js";
export { validateScenario, RULES, type ValidateOptions } from "./validate.js";
export { loadScenario } from "./load.js";
export { expandParameters, type Expansion } from "./expand.js";
export { formatDiagnostic, formatDiagnostics } from "./format-diagnostic.js";
export { ScenarioError } from "./scenario-error.js";
export { decodeScenarioText } from "./source-text.js";
export { MAX_NESTING } from "./statement-chunks.js";
export { COMMANDS } from "./commands.js";
export { REQUIREMENTS } from "./rules/requirements.js";
export { PERMISSIONS, type SchemaView } from "./schema.js";
