/**
 * Jobs over a filter whose length outgrew what is below it. A throttle node keeps the length it
 * had when it was opened (it has no has_variable_length), so a reopen that swaps its file for a
 * shorter node leaves it longer than its new file. Past the file's end, block status answers
 * nothing (BDRV_BLOCK_EOF, pnum 0), and each job's loop meets that its own way in QEMU 7.2:
 * - mirror (and an active commit, which is a mirror): mirror_dirty_init asserts `count`;
 * - backup sync=top: block_copy_reset_unallocated counts no cluster, and the loop, which has a pause
 *   point but no yield, spins in the main thread: QEMU stops answering;
 * - commit of the filter: the loop sleeps zero nanoseconds and looks again at the same offset,
 *   forever, while the monitor answers; the job stays running until it is cancelled.
 * The model used to loop in mirror_dirty_init and in backup_run without returning at all.
 * Each case also runs on real QEMU when it is installed.
 */
import { describe, expect, it } from "vitest";
import type { Engine } from "../../../src/engines/engine.js";
import { ModelEngine } from "../../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../../support/qemu.js";
import { inlineRunner } from "../../support/run-inline.js";

const run = inlineRunner(40_000);

/** t0, a throttle node opened over a 1M qcow2, then reopened over `s`, a 256k qcow2 with a backing file. */
function staleFilter(job: string, after: string[]): string {
  return [
    'scenario "a job over a filter longer than its file"',
    "require jobs",
    'qmp object-add {"qom-type": "throttle-group", "id": "tg1", "limits": {}}',
    "image base.qcow2 qcow2 1M",
    "image top.qcow2 qcow2 1M",
    "image small.qcow2 qcow2 256k backing=base.qcow2 backing-fmt=qcow2",
    "image t3.qcow2 qcow2 1M",
    "add t0: throttle throttle-group=tg1 file=(qcow2 file=(file filename=top.qcow2))",
    "add s: qcow2 file=(file filename=small.qcow2)",
    "reopen t0 file=s",
    "add t3: qcow2 file=(file filename=t3.qcow2)",
    job,
    ...after,
    "",
  ].join("\n");
}

const MIRROR = staleFilter("job mirror j2 t0 target=t3 sync=top", ["wait j2 ready"]);
const ACTIVE_COMMIT = staleFilter("job commit j2 t0", ["wait j2 ready"]);
const BACKUP = staleFilter("job backup j2 t0 target=t3 sync=top", ["wait j2 null"]);

/** A commit of the filter itself, below a qcow2 overlay: QEMU's loop never ends, and answers meanwhile. */
const COMMIT_OF_FILTER = [
  'scenario "a commit of a filter longer than its file"',
  "require jobs",
  'qmp object-add {"qom-type": "throttle-group", "id": "tg1", "limits": {}}',
  "image base.qcow2 qcow2 1M",
  "image mid.qcow2 qcow2 1M backing=base.qcow2 backing-fmt=qcow2",
  "image small.qcow2 qcow2 256k backing=base.qcow2 backing-fmt=qcow2",
  "image top.qcow2 qcow2 1M",
  "add f: throttle throttle-group=tg1 file=(qcow2 file=(file filename=mid.qcow2))",
  "add s: qcow2 file=(file filename=small.qcow2)",
  "reopen f file=s",
  "add t: qcow2 file=(file filename=top.qcow2) backing=f",
  "job commit j2 t top-node=f",
  "wait j2 null",
  "qmp query-block-jobs",
  'qmp block-job-cancel {"device": "j2"}',
  "wait j2 null",
  "show graph",
  "",
].join("\n");

const DIRTY_INIT_ASSERT = "../../block/mirror.c:871: mirror_dirty_init: Assertion `count' failed.";

async function failureOf(text: string, engine: Engine): Promise<string> {
  const r = await run(text, engine);
  expect(r.failures).toHaveLength(1);
  return r.failures[0]!.message;
}

describe("jobs over a filter longer than its file, on the model", () => {
  it("a mirror asserts in mirror_dirty_init, once the job has looked at the source", async () => {
    const m = await failureOf(MIRROR, new ModelEngine());
    expect(m).toMatch(/^E_QEMU_CRASHED: QEMU died during 'wait' \(QMP query-jobs, killed by signal SIGABRT\)/);
    expect(m).toContain(DIRTY_INIT_ASSERT);
  });

  it("an active commit, a mirror underneath, asserts the same way", async () => {
    const m = await failureOf(ACTIVE_COMMIT, new ModelEngine());
    expect(m).toMatch(/killed by signal SIGABRT/);
    expect(m).toContain(DIRTY_INIT_ASSERT);
  });

  it("a backup with sync=top spins in the main thread: QEMU would not answer", async () => {
    const m = await failureOf(BACKUP, new ModelEngine());
    expect(m).toMatch(/^E_QEMU_WOULD_HANG: QEMU would not answer 'job' \(QMP blockdev-backup\)/);
    expect(m).toContain("block_copy_reset_unallocated counts nothing at offset 262144 of 't0'");
  });

  it("a commit of the filter stays running at the file's end until it is cancelled", async () => {
    const r = await run(COMMIT_OF_FILTER, new ModelEngine());
    expect(r.failures.map((f) => f.message)).toEqual(["job 'j2' is 'running', not 'null', after 10 s"]);
    expect(r.transcript).toContain('"offset": 262144,');
    expect(r.transcript).toContain('"status": "running",');
    expect(r.transcript).toContain("event: BLOCK_JOB_CANCELLED device=j2 speed=0 type=commit");
  });
});

describeWithQemu("jobs over a filter longer than its file, on QEMU", () => {
  it("a mirror asserts in mirror_dirty_init, during the command or right after it", async () => {
    const m = await failureOf(MIRROR, new QemuEngine());
    expect(m).toMatch(/^E_QEMU_CRASHED: QEMU died during '(job|wait)' .*killed by signal SIGABRT/);
    expect(m).toContain("mirror_dirty_init: Assertion `count' failed.");
  }, 30_000);

  it("a backup with sync=top stops answering", async () => {
    const m = await failureOf(BACKUP, new QemuEngine({ callTimeoutMs: 3_000 }));
    expect(m).toMatch(/^E_QEMU_TIMEOUT: QEMU did not answer '(job|wait)'/);
  }, 30_000);

  it("a commit of the filter: the same transcript as the model's", async () => {
    const [model, qemu] = [await run(COMMIT_OF_FILTER, new ModelEngine()), await run(COMMIT_OF_FILTER, new QemuEngine())];
    expect(qemu.transcript).toContain('"offset": 262144,');
    expect(model.transcript).toBe(qemu.transcript);
  }, 40_000);
});
