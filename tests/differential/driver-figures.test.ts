/** The differential's per-driver figures: adds naming a driver, anywhere in their options. */
import { describe, expect, it } from "vitest";
import { addDriverFigures, emptyDriverFigures, formatDriverFigures } from "./driver-figures.js";
import type { CaseOutcome } from "./run-differential.js";
import type { Json, RecordedQmpStep } from "./steps.js";

function add(args: { [key: string]: Json }, ok: boolean): RecordedQmpStep {
  return { kind: "qmp", execute: "blockdev-add", arguments: args, reply: ok ? { return: {} } : { error: { class: "GenericError", desc: "x" } }, events: [] };
}

describe("per-driver differential figures", () => {
  it("count each driver once per add, with inline children, and the sequences it appeared in", () => {
    const f = emptyDriverFigures();
    const agreeing: CaseOutcome = {
      seed: 1,
      steps: [],
      qemu: [
        add({ driver: "quorum", "node-name": "q", children: [{ driver: "null-co" }, { driver: "null-co" }], "vote-threshold": 1 }, true),
        add({ driver: "quorum", "node-name": "x", children: [], "vote-threshold": 1 }, false),
        { kind: "qmp", execute: "query-named-block-nodes", reply: { return: [] }, events: [] },
      ],
    };
    const failing: CaseOutcome = { seed: 2, steps: [], qemu: [add({ driver: "null-co", "node-name": "n" }, true)], modelError: "E_X: broke" };
    addDriverFigures(f, agreeing);
    addDriverFigures(f, failing);
    expect(f.get("quorum")).toEqual({ adds: 2, accepted: 1, sequences: 1, agreeing: 1 });
    expect(f.get("null-co")).toEqual({ adds: 2, accepted: 2, sequences: 2, agreeing: 1 });
    expect(formatDriverFigures(f)).toBe(
      "drivers (blockdev-add commands naming it, accepted by QEMU; sequences with it, agreeing):\n" +
        "  null-co: 2 adds, 2 accepted; 2 sequences, 1 agree\n" +
        "  quorum: 2 adds, 1 accepted; 1 sequences, 1 agree",
    );
  });
});
