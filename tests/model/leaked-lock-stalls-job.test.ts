/**
 * A job's coroutine is woken from the main thread with aio_co_wake: its sleep timer lives in the
 * main context (job_create), and job_enter runs there for every command. Once the coroutine last
 * ran in an iothread, the wake schedules it there (aio_co_schedule), and the iothread takes the
 * context's lock to run it (co_schedule_bh_cb). A lock block_resize leaked to the main thread it
 * never gets: the job stays where it was, a cancel answers and is never carried out, and QEMU 7.2
 * hangs at quit (found by fuzz seed 58; gdb showed the iothread in qemu_mutex_lock under
 * aio_bh_poll). A wait of the main thread that gives the lock back entirely (a drain polling with
 * no other hold of it) lets the iothread run the job meanwhile. A job moved into such an iothread
 * (x-blockdev-set-iothread with force) was paused by the move's drained sections while it still ran
 * in the main loop, and the resume at their end schedules it in the iothread: it stays in standby
 * (fuzz seed 92). Each case runs on the model, and on real QEMU when it is installed, where both
 * transcripts must be the same.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

/** A mirror moved into io1 by an export, then a lock of io1 leaked by a resize of another node there. */
function stalled(...after: string[]): string {
  return [
    'scenario "a job in an iothread whose lock leaked"',
    "require jobs",
    "image a.qcow2 qcow2 1M",
    "image s.qcow2 qcow2 1M",
    "image t.qcow2 qcow2 1M",
    "add a: qcow2 file=(file filename=a.qcow2)",
    "add s: qcow2 file=(file filename=s.qcow2)",
    "add t: qcow2 file=(file filename=t.qcow2)",
    "iothread io1",
    'qmp x-blockdev-set-iothread {"node-name": "a", "iothread": "io1"}',
    "job mirror j s target=t sync=full",
    "wait j ready",
    "export s id=e iothread=io1 fixed-iothread=on",
    'qmp block_resize {"node-name": "a", "size": 2097152}',
    ...after,
    "",
  ].join("\n");
}

/** A commit in the main loop, moved into io1 after a resize there leaked io1's lock (the resized node went back to the main loop). */
function movedIn(...after: string[]): string {
  return [
    'scenario "a job moved into an iothread whose lock leaked"',
    "require jobs",
    "image f.qcow qcow 1M",
    "add q: qcow file=(file filename=f.qcow)",
    "iothread io1",
    'qmp x-blockdev-set-iothread {"node-name": "q", "iothread": "io1"}',
    'qmp block_resize {"node-name": "q", "size": 65536} -> error "Image format driver does not support resize"',
    "image b.qcow2 qcow2 1M",
    "image m.qcow2 qcow2 1M backing=b.qcow2 backing-fmt=qcow2",
    "image t.qcow2 qcow2 1M backing=m.qcow2 backing-fmt=qcow2",
    "graph {",
    "  b: qcow2 file=(file filename=b.qcow2) backing=null",
    "  m: qcow2 file=(file filename=m.qcow2) backing=b",
    "  t: qcow2 file=(file filename=t.qcow2) backing=m",
    "}",
    "job commit j t",
    "wait j ready",
    'qmp x-blockdev-set-iothread {"node-name": "m", "iothread": "io1", "force": true}',
    ...after,
    "",
  ].join("\n");
}

const CASES = {
  "a cancel": stalled("job cancel j", "qmp query-jobs"),
  "a pause": stalled("job pause j", "qmp query-jobs"),
  "a move in": movedIn("qmp query-jobs", "job complete j", "qmp query-jobs"),
};

describe("a job in an iothread whose lock leaked, on the model", () => {
  it("is not carried further by a cancel", async () => {
    const r = await run(CASES["a cancel"], new ModelEngine());
    expect(r.transcript).toContain('"status": "ready"');
    expect(r.transcript!.endsWith("(quit)\n  QEMU hung at quit and was killed\n")).toBe(true);
  });

  it("leaves a job moved in paused by the move's drains", async () => {
    const r = await run(CASES["a move in"], new ModelEngine());
    expect(r.transcript).not.toContain('"status": "ready"');
    expect(r.transcript!.match(/"status": "standby"/g)).toHaveLength(2);
    expect(r.transcript!.endsWith("(quit)\n  QEMU hung at quit and was killed\n")).toBe(true);
  });
});

describeWithQemu("a job in an iothread whose lock leaked, on QEMU", () => {
  // A quit not done in 2 s is taken for a hang.
  const qemu = () => new QemuEngine({ callTimeoutMs: 3_000, quitTimeoutMs: 2_000 });
  for (const [name, text] of Object.entries(CASES)) {
    it(`${name}: the transcripts are the same`, { timeout: 60_000 }, async () => {
      const q = await run(text, qemu());
      expect((await run(text, new ModelEngine())).transcript).toBe(q.transcript);
    });
  }
});
