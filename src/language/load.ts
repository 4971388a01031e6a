/**
 * loadScenario(): parse, then validate what parsed; every diagnostic of the file in source order.
 */
import { sortDiagnostics } from "./diagnostic.js";
import { parseScenario, type ParseResult } from "./parse.js";
import { validateScenario, type ValidateOptions } from "./validate.js";

/**
 * Parses and validates one scenario file. The scenario is usable when `diagnostics` is empty.
 */
export function loadScenario(text: string, file: string, options: ValidateOptions = {}): ParseResult {
  const parsed = parseScenario(text, file);
  const semantic = validateScenario(parsed.scenario, { assumeNodes: parsed.unparsedNames, ...options });
  return { ...parsed, diagnostics: sortDiagnostics([...parsed.diagnostics, ...semantic]) };
}
