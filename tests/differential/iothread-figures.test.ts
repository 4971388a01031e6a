/** The differential's iothread figures: which commands count, what QEMU accepted, distinct errors. */
import { expect, it } from "vitest";
import { addIothreadFigures, emptyIothreadFigures, formatIothreadFigures } from "./iothread-figures.js";
import type { CaseOutcome } from "./run-differential.js";
import type { RecordedQmpStep } from "./steps.js";

function step(execute: string, args: RecordedQmpStep["arguments"], reply: RecordedQmpStep["reply"]): RecordedQmpStep {
  return { kind: "qmp", execute, arguments: args, reply, events: [] };
}
const err = (desc: string) => ({ error: { class: "GenericError", desc } });

it("counts iothread objects, exports naming one and moves, with their distinct errors", () => {
  const f = emptyIothreadFigures();
  const withIothreads: CaseOutcome = {
    seed: 1,
    steps: [],
    qemu: [
      step("object-add", { "qom-type": "iothread", id: "io0" }, { return: {} }),
      step("object-add", { "qom-type": "throttle-group", id: "tg0" }, { return: {} }),
      step("block-export-add", { type: "nbd", id: "e0", "node-name": "n0", iothread: "nosuch" }, err('iothread "nosuch" not found')),
      step("block-export-add", { type: "nbd", id: "e1", "node-name": "n0" }, { return: {} }),
      step("x-blockdev-set-iothread", { "node-name": "n0", iothread: "io0" }, err("Cannot change iothread of active block backend")),
      step("x-blockdev-set-iothread", { "node-name": "n1", iothread: "io0" }, err("Cannot change iothread of active block backend")),
    ],
  };
  const without: CaseOutcome = { seed: 2, steps: [], qemu: [step("query-named-block-nodes", {}, { return: [] })] };
  const disagreeing: CaseOutcome = { ...withIothreads, seed: 3, modelError: "E_X: broke" };
  for (const o of [withIothreads, without, disagreeing]) addIothreadFigures(f, o);
  expect(f.sequences).toBe(2);
  expect(f.agreeing).toBe(1);
  expect(Object.fromEntries(f.sent)).toEqual({
    "iothread objects": { sent: 2, accepted: 2 },
    "exports with an iothread": { sent: 2, accepted: 0 },
    "x-blockdev-set-iothread": { sent: 4, accepted: 0 },
  });
  expect([...f.errors].sort()).toEqual(["Cannot change iothread of active block backend", 'iothread "nosuch" not found']);
  expect(formatIothreadFigures(f)).toMatch(/^iothreads: 2 sequences with iothread commands, 1 agree; /);
});
