/**
 * A copy-before-write filter's copy bitmap lives on its source node. When an active commit that
 * completes moves the filter's `file` edge from the commit's top to its base, the bitmap stays on
 * the top, which then only the monitor holds: at quit bdrv_close_all closes the top before the
 * filter and QEMU 7.2 aborts in bdrv_close (found by the differential fuzzer). The model met the
 * same assertion at quit and let it pass; it must end the run as QEMU does.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../../support/qemu.js";
import { inlineRunner } from "../../support/run-inline.js";

const run = inlineRunner(20_000);

const ASSERTION = "../../block.c:4962: bdrv_close: Assertion `QLIST_EMPTY(&bs->dirty_bitmaps)' failed.";

function scenario(end: string[]): string {
  return [
    'scenario "a filter\'s bitmap left on a committed top"',
    "require jobs",
    "image top.qcow2 qcow2 1M",
    "graph {",
    "  base: null-co",
    "  top: qcow2 file=(file filename=top.qcow2) backing=base",
    "}",
    "job commit j0 top",
    "wait j0 ready",
    "add cbw: copy-before-write file=top target=base",
    "job complete j0",
    "wait j0 null",
    "show graph",
    ...end,
    "",
  ].join("\n");
}

describe("a copy-before-write bitmap left on a node closed at quit, on the model", () => {
  it("ends the run as QEMU's crash at quit, with its assertion", async () => {
    const r = await run(scenario([]), new ModelEngine());
    expect(r.failures.map((f) => f.message)).toEqual(["QEMU crashed at quit (SIGABRT)"]);
    expect(r.failures[0]!.details).toContain(ASSERTION);
    expect(r.transcript).toContain("cbw -file-> base");
    expect(r.transcript).toMatch(/\(quit\)\n {2}QEMU crashed: SIGABRT\n$/);
  });

  it("ends cleanly when the filter goes first", async () => {
    const r = await run(scenario(["del cbw"]), new ModelEngine());
    expect(r.failures.filter((f) => f.kind !== "missing-golden")).toEqual([]);
  });
});

describeWithQemu("a copy-before-write bitmap left on a node closed at quit, on QEMU", () => {
  for (const [name, end] of [
    ["the crash at quit", []],
    ["the clean end", ["del cbw"]],
  ] as const) {
    it(`${name}: the model's transcript and failures are QEMU's`, async () => {
      const text = scenario([...end]);
      const [model, qemu] = [await run(text, new ModelEngine()), await run(text, new QemuEngine())];
      expect(model.transcript).toBe(qemu.transcript);
      const failures = (r: typeof model) => r.failures.filter((f) => f.kind !== "missing-golden").map((f) => f.message);
      expect(failures(model)).toEqual(failures(qemu));
      if (end.length === 0) expect(qemu.failures[0]!.details).toContain(ASSERTION);
    }, 30_000);
  }
});
