/**
 * A scenario the checker rejects, made one it accepts by leaving out the statements it complains
 * about: those that name a node, export or image whose statement was cut, and then those that named
 * what those made. The shrinker removes a statement together with what depends on it this way (an
 * `export` with its `unexport`, an `add` with the reopens of the node), where plain delta debugging
 * would have to hit the pair in one chunk.
 */
import { loadScenario } from "../language/index.js";
import { caseText } from "./check-case.js";
import { statementAt } from "./outcomes.js";
import type { FuzzScenario } from "./scenario-ir.js";

/** `s` with the rejected statements left out; undefined when that leaves nothing, or nothing helps. */
export function repairScenario(s: FuzzScenario): FuzzScenario | undefined {
  let statements = s.statements;
  for (;;) {
    if (statements.length === 0) return undefined;
    const rendered = caseText({ seed: s.seed, statements });
    const diagnostics = loadScenario(rendered.text, "fuzz.scn").diagnostics;
    if (diagnostics.length === 0) return { seed: s.seed, statements };
    const bad = new Set(diagnostics.map((d) => statementAt(rendered.lines, d.location.start.line)));
    if (bad.has(undefined)) return undefined;
    statements = statements.filter((_, i) => !bad.has(i));
  }
}
