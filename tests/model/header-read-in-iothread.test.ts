/**
 * A format node opened over a node in an iothread joins it there (the probing BlockBackend keeps
 * the file from moving), and the main thread polls the driver's header read without that context's
 * lock. Whether QEMU 7.2 dies in that poll depends on whether the read waits for anything, which is
 * a matter of the data, not of the graph's shape: a qed or qcow2 node answers a cluster nothing
 * allocated with zeros at once (qed from its L2 cache, qcow2 from its L1 table), and reads its
 * backing file or its image file otherwise, which go to the thread pool. A read that does not wait
 * lets the open go on: the header of zeros is refused, and the probing BlockBackend's removal drains
 * the file and moves it back to the main loop. Where the iothread was deleted, that drain schedules
 * qed's drain callback in freed memory (SIGSEGV), and the move releases the freed context's
 * destroyed mutex; a read that waits releases that destroyed mutex in the poll.
 * Each case also runs on real QEMU when it is installed.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

const MOVE = 'qmp x-blockdev-set-iothread {"node-name": "q1", "iothread": "io0"}';
const DEL = 'qmp object-del {"id": "io0"}';

function text(...steps: string[]): string {
  return ['scenario "a header read in an iothread"', "iothread io0", ...steps, "add c2: qcow2 file=q1", ""].join("\n");
}

const QED = ["image f.qed qed 1M", "add q1: qed file=(file filename=f.qed)"];
const QED_OVER_BACKING = ["image b.raw raw 1M", "image f.qed qed 1M backing=b.raw backing-fmt=raw", "add q1: qed file=(file filename=f.qed)"];
const QCOW2 = ["image f.qcow2 qcow2 1M", "add q1: qcow2 cache-clean-interval=0 file=(file filename=f.qcow2)"];

const NOT_OWNED = "qemu: qemu_mutex_unlock_impl: Operation not permitted";
const DESTROYED = "../../util/qemu-thread-posix.c:115: qemu_mutex_unlock_impl: Assertion `mutex->initialized' failed.";
const QED_DRAIN = "the drain callback of qed node 'q1' is scheduled in the AioContext of deleted iothread 'io0'";

const CASES: Array<{ name: string; text: string; signal: "SIGSEGV" | "SIGABRT"; says: string }> = [
  { name: "qcow2 over a qed node with nothing allocated, in a deleted iothread", text: text(...QED, MOVE, DEL), signal: "SIGSEGV", says: QED_DRAIN },
  { name: "qcow2 over a qed node reading its backing file, in a deleted iothread", text: text(...QED_OVER_BACKING, MOVE, DEL), signal: "SIGABRT", says: DESTROYED },
  { name: "qcow2 over a qcow2 node with nothing allocated, in a deleted iothread", text: text(...QCOW2, MOVE, DEL), signal: "SIGABRT", says: DESTROYED },
  { name: "qcow2 over a qed node reading its backing file, in an iothread", text: text(...QED_OVER_BACKING, MOVE), signal: "SIGABRT", says: NOT_OWNED },
  { name: "qcow2 over a qed node with nothing allocated, in an iothread", text: text(...QED, MOVE), signal: "SIGABRT", says: NOT_OWNED },
];

describe("a header read in an iothread, on the model", () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.signal}`, async () => {
      const r = await run(c.text, new ModelEngine());
      expect(r.transcript!.endsWith(`add c2: qcow2 file=q1\n  QEMU crashed: ${c.signal}\n(run stopped)\n`)).toBe(true);
      expect(r.failures[0]!.message).toContain(`E_QEMU_CRASHED: QEMU died during 'add' (QMP blockdev-add, killed by signal ${c.signal})`);
      expect(r.failures[0]!.message).toContain(c.says);
    });
  }

  it("a qed table its own write put in the L2 cache is not read again: only the drain's segfault", async () => {
    const steps = ["require io", "iothread io0", ...QED, 'io q1 "write -P 7 64k 64k"', MOVE, DEL, "add c2: qcow2 file=q1"];
    const r = await run(['scenario "a header read in an iothread"', ...steps, ""].join("\n"), new ModelEngine());
    expect(r.failures[0]!.message).toContain(QED_DRAIN);
  });
});

describeWithQemu("a header read in an iothread, on QEMU", () => {
  for (const c of CASES) {
    it(`${c.name}: QEMU dies as the model says`, async () => {
      const qemu = await run(c.text, new QemuEngine());
      expect(qemu.transcript).toBe((await run(c.text, new ModelEngine())).transcript);
      if (c.says !== QED_DRAIN) expect(qemu.failures[0]!.message).toContain(c.says);
    }, 60_000);
  }
});
