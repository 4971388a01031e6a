/**
 * A mirror that replaces a node only its parent holds (an inline quorum child), in an iothread:
 * job_prepare_locked holds the job's AioContext and mirror_exit_common takes the replaced node's
 * again, so the main thread holds that iothread's lock twice when bdrv_unref frees the node.
 * bdrv_close's flush then waits for the iothread, which never gets the lock: QEMU 7.2 answers
 * block-job-complete and never the next command (5 runs of 5). With the node held by the monitor
 * too, nothing is closed and the job ends on both.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../../support/qemu.js";
import { inlineRunner } from "../../support/run-inline.js";

const run = inlineRunner(20_000);

function repair(monitorHoldsChild: boolean): string {
  return [
    'scenario "a quorum child replaced by a mirror in an iothread"',
    "require jobs",
    ...(monitorHoldsChild
      ? ["add img1: null-co read-zeroes=on", "add quorum0: quorum children=[(img0: null-co read-zeroes=on), img1] vote-threshold=1"]
      : ["add quorum0: quorum children=[(img0: null-co read-zeroes=on), (img1: null-co read-zeroes=on)] vote-threshold=1"]),
    "iothread io0",
    "export quorum0 writable id=dev0 iothread=io0 fixed-iothread=on",
    "add spare: null-co read-zeroes=on",
    'qmp blockdev-mirror {"job-id": "job0", "device": "quorum0", "target": "spare", "sync": "full", "replaces": "img1"}',
    "wait job0 ready",
    "job complete job0",
    "wait job0 null",
    "show graph",
    "",
  ].join("\n");
}

describe("a mirror replacing a node in an iothread, on the model", () => {
  it("hangs when the replaced node is freed", async () => {
    const r = await run(repair(false), new ModelEngine());
    expect(r.transcript!.endsWith("job complete job0\n  ok\nwait job0 null\n  QEMU hung and was killed\n(run stopped)\n")).toBe(true);
    expect(r.failures[0]!.message).toMatch(/^E_QEMU_WOULD_HANG: /);
    expect(r.failures[0]!.message).toContain("bdrv_close's flush of 'img1'");
  });

  it("completes when the monitor still holds it", async () => {
    const r = await run(repair(true), new ModelEngine());
    expect(r.failures).toEqual([]);
  });
});

describeWithQemu("a mirror replacing a node in an iothread, on QEMU", () => {
  for (const held of [false, true]) {
    it(`ends the way the model says (monitor holds the child: ${held})`, { timeout: 60_000 }, async () => {
      const qemu = await run(repair(held), new QemuEngine({ callTimeoutMs: 3_000 }));
      expect(qemu.transcript).toBe((await run(repair(held), new ModelEngine())).transcript);
    });
  }
});
