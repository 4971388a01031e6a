/**
 * A qcow2 node whose driver a fatal corruption took away (qcow2_signal_corruption sets bs->drv to
 * NULL) is closed without qcow2_close, so its cache-clean timer stays armed in its AioContext after
 * the node is gone. When that context is an iothread's, destroying it at quit (after every node
 * closed) aborts in timerlist_free; in the main loop nothing destroys the context. Found by fuzz
 * seed 66 (a qcow2 whose file a snapshot moved allocates an L2 table at offset 0). The cases also
 * run on real QEMU when it is installed.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(20_000);

function corruptedIn(iothread: boolean): string {
  return [
    'scenario "a cache-clean timer left armed by a corruption"',
    "require io",
    "iothread io0",
    'qmp object-add {"qom-type": "throttle-group", "id": "tg2", "limits": {}}',
    "image base.qcow2 qcow2 1M",
    "image top.qcow2 qcow2 1M backing=base.qcow2 backing-fmt=qcow2",
    "add t1: throttle throttle-group=tg2 file=(qcow2 file=(c3: file filename=base.qcow2))",
    'qmp blockdev-snapshot-sync {"node-name": "c3", "snapshot-file": "$TEST_DIR/sn4.qcow2", "snapshot-node-name": "sn4"}',
    "add q5: qcow2 file=(file filename=top.qcow2) backing=null",
    "reopen q5 file=t1/file",
    "add r6: raw file=q5",
    ...(iothread ? ['qmp x-blockdev-set-iothread {"node-name": "sn4", "iothread": "io0"}'] : []),
    'io r6/file "write -P 0x00 61 65536" -> error "write failed: Input/output error"',
    "",
  ].join("\n");
}

const CASES = { "in an iothread, aborts at quit": corruptedIn(true), "in the main loop, quits cleanly": corruptedIn(false) };

describe("a cache-clean timer a corruption left armed, on the model", () => {
  it("in an iothread, aborts at quit", async () => {
    const r = await run(CASES["in an iothread, aborts at quit"], new ModelEngine());
    expect(r.transcript!.endsWith("(quit)\n  QEMU crashed: SIGABRT\n")).toBe(true);
    expect(r.failures[0]!.details).toContain("timerlist_free: Assertion `!timerlist_has_timers(timer_list)' failed.");
  });

  it("in the main loop, quits cleanly", async () => {
    const r = await run(CASES["in the main loop, quits cleanly"], new ModelEngine());
    expect(r.failures.filter((f) => f.kind !== "missing-golden")).toEqual([]);
  });
});

describeWithQemu("a cache-clean timer a corruption left armed, on QEMU", () => {
  for (const [name, text] of Object.entries(CASES)) {
    it(`${name}, as the model says`, async () => {
      const [model, qemu] = [await run(text, new ModelEngine()), await run(text, new QemuEngine())];
      expect(model.transcript).toBe(qemu.transcript);
    }, 30_000);
  }
});
