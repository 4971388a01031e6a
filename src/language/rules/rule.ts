import type { Scenario } from "../ast.js";
import type { Diagnostic } from "../diagnostic.js";
import type { SchemaView } from "../schema.js";

/** What a rule sees: one scenario (parameters already substituted) and the QAPI schema. */
export interface RuleContext {
  scenario: Scenario;
  schema: SchemaView;
  /** Node names to treat as existing from the start (declared by statements that did not parse). */
  assumeNodes: readonly string[];
}

/**
 * One check. A rule collects every problem of its kind and returns them all; it never throws for
 * a bad scenario.
 */
export interface Rule {
  /** Short stable name, e.g. "unknown-driver". */
  name: string;
  /** Whether it runs on the scenario as written ("source": e.g. unknown `$x`) or on each expansion. */
  on: "source" | "expansion";
  check(ctx: RuleContext): Diagnostic[];
}
