/**
 * blockdev-reopen drains the reopened node's subtree, and each bdrv_reopen_prepare holds only its
 * entry's AioContext lock. A new `file` in an iothread enters that subtree drain
 * (bdrv_apply_subtree_drain), whose poll waits for the active commit (a mirror) running above the
 * child there: AIO_WAIT_WHILE releases a lock the main thread does not hold, and QEMU 7.2 aborts,
 * unless the job reached its pause point in the iothread first: 15 aborts in 20 runs (fuzz seed
 * 44). The model refuses the step instead of answering 'ok', as it did before.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

const TEXT = [
  'scenario "a reopen attaches a file under a job in an iothread"',
  "require jobs",
  "iothread io0",
  "image b.qcow2 qcow2 1M",
  "add c1: null-co",
  "graph {",
  "  c5: null-co",
  "  c6: qcow2 file=(file filename=b.qcow2) backing=c5",
  "}",
  "job commit j4 c6",
  "export c6 id=e12 iothread=io0 fixed-iothread=on",
  "add p13: preallocate file=c1",
  "reopen p13 file=c5",
  "",
].join("\n");

describe("a reopen that attaches a file in an iothread under a running mirror, on the model", () => {
  it("is refused: QEMU aborts or goes on as the job's timing has it", async () => {
    const r = await run(TEXT, new ModelEngine());
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]).toMatchObject({
      message: "E_MODEL_IO_UNSUPPORTED: the model engine does not model a drained section of 'c5' under commit job 'j4' in iothread 'io0' with no AioContext lock held (QEMU 7.2 aborts or goes on, as the job's timing has it)",
      location: "tests/scenarios/t.scn:13",
    });
  });
});

describeWithQemu("a reopen that attaches a file in an iothread under a running mirror, on QEMU", () => {
  it("aborts in blockdev-reopen, or goes on, after the same steps as the model", async () => {
    const [model, qemu] = [await run(TEXT, new ModelEngine()), await run(TEXT, new QemuEngine())];
    const step = "reopen p13 file=c5\n";
    const [q, m] = [qemu.transcript!, model.transcript!];
    // The model's transcript stops before the step it refuses.
    expect(m.endsWith("(run stopped)\n")).toBe(true);
    expect(q.slice(0, q.indexOf(step))).toBe(m.slice(0, -"(run stopped)\n".length));
    expect(["  ok\n", "  QEMU crashed: SIGABRT\n(run stopped)\n"]).toContain(q.slice(q.indexOf(step) + step.length));
    for (const f of qemu.failures) {
      expect(f.message).toMatch(/^E_QEMU_CRASHED: QEMU died during 'reopen' \(QMP blockdev-reopen, killed by signal SIGABRT\)/);
      expect(f.message).toContain("qemu: qemu_mutex_unlock_impl: Operation not permitted");
    }
  }, 60_000);
});
