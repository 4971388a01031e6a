/**
 * validateScenario(): every semantic problem of a parsed scenario, from the rules in rules/.
 */
import type { Scenario } from "./ast.js";
import { sortDiagnostics, type Diagnostic } from "./diagnostic.js";
import { expandParameters } from "./expand.js";
import { expectations } from "./rules/expectations.js";
import { ioNeedsRequire } from "./rules/io-needs-require.js";
import { iothreads } from "./rules/iothreads.js";
import { jobLifecycle } from "./rules/job-lifecycle.js";
import { jobOptions } from "./rules/job-options.js";
import { jobsNeedRequire } from "./rules/jobs-need-require.js";
import { metadata } from "./rules/metadata.js";
import { nodeLifecycle } from "./rules/node-lifecycle.js";
import { nodeProperties } from "./rules/node-properties.js";
import { unknownOption } from "./rules/options.js";
import { argumentTypes } from "./rules/argument-types.js";
import { parameters } from "./rules/parameters.js";
import { imageSizes } from "./rules/image-size.js";
import { scratchPaths } from "./rules/paths.js";
import { secrets } from "./rules/secrets.js";
import { permissionNames } from "./rules/permissions.js";
import { pictureNames } from "./rules/picture-names.js";
import { requirements } from "./rules/requirements.js";
import type { Rule } from "./rules/rule.js";
import { unknownDriver } from "./rules/unknown-driver.js";
import { unsafeCommands } from "./rules/unsafe-commands.js";
import { qapiSchema, type SchemaView } from "./schema.js";

/** Every rule, in the order their checks are described in docs/language.md. */
export const RULES: readonly Rule[] = [
  metadata,
  requirements,
  parameters,
  unknownDriver,
  unknownOption,
  argumentTypes,
  nodeLifecycle,
  iothreads,
  secrets,
  imageSizes,
  scratchPaths,
  unsafeCommands,
  expectations,
  permissionNames,
  nodeProperties,
  pictureNames,
  ioNeedsRequire,
  jobOptions,
  jobLifecycle,
  jobsNeedRequire,
];

/** Options of validateScenario(). */
export interface ValidateOptions {
  /** The blockdev schema to check drivers and options against; QEMU 7.2's by default. */
  schema?: SchemaView;
  /** Node names to treat as existing (loadScenario passes those of statements that did not parse). */
  assumeNodes?: readonly string[];
}

/**
 * All problems in `scenario`, in source order. Rules about meaning run once per parameter value
 * (`each`), and a problem that every value shares is reported once.
 */
export function validateScenario(scenario: Scenario, options: ValidateOptions = {}): Diagnostic[] {
  const schema = options.schema ?? qapiSchema;
  const assumeNodes = options.assumeNodes ?? [];
  const out: Diagnostic[] = [];
  for (const rule of RULES.filter((r) => r.on === "source")) out.push(...rule.check({ scenario, schema, assumeNodes }));
  for (const { scenario: expanded } of expandParameters(scenario)) {
    for (const rule of RULES.filter((r) => r.on === "expansion")) {
      out.push(...rule.check({ scenario: expanded, schema, assumeNodes }));
    }
  }
  return sortDiagnostics(out);
}
