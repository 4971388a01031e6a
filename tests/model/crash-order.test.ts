/**
 * Where QEMU 7.2 dies when two things would kill it, and when (fuzz seed 77; each outcome the same
 * in 3 runs of 3 on qemu-storage-daemon 7.2.22):
 *
 * - bdrv_close unrefs a node's children before it checks the node's dirty bitmaps, and a child
 *   whose refcount drops to zero is closed right there: a backup's source freed at finalize with
 *   the copy bitmap still on it aborts on that check (SIGABRT), unless its backing node, whose
 *   s->data_file a failed reopen left dangling, crashes in its own close first (SIGSEGV).
 * - A block status that marks a qcow2 image corrupt waits for that header write in the thread pool;
 *   the crash after it (the lost driver read) comes after the command that started the job.
 */
import { expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

async function failure(lines: string[]): Promise<string> {
  const r = await run(['scenario "crash order"', "require jobs", "require io", ...lines, ""].join("\n"), new ModelEngine());
  expect(r.failures).toHaveLength(1);
  return (r.failures[0] as { message: string }).message;
}

const backupToPending = [
  "image base.qcow2 qcow2 1M",
  "image top.qcow2 qcow2 1M backing=base.qcow2 backing-fmt=qcow2",
  "add r0: raw file=(c1: qcow2 file=(file filename=top.qcow2))",
  "add t4: null-co size=1048576",
  "job backup j3 c1 target=t4 sync=full auto-finalize=off",
  "wait j3 pending",
];

it("closes a freed node's children before it checks the node's bitmaps", async () => {
  const plain = await failure([...backupToPending, "del r0", "job finalize j3"]);
  expect(plain).toMatch(/^E_QEMU_CRASHED: QEMU died during 'job' \(QMP block-job-finalize, killed by signal SIGABRT\)/);
  const dangling = await failure([...backupToPending, `reopen c1/backing file=c1/file -> error "Cannot change the option 'node-name'"`, "del r0", "job finalize j3"]);
  expect(dangling).toMatch(/^E_QEMU_CRASHED: QEMU died during 'job' \(QMP block-job-finalize, killed by signal SIGSEGV\)/);
});

it("crashes after the reply when the block status that found a corruption waited for its header write", async () => {
  const message = await failure([
    "image base.qcow2 qcow2 1M",
    "add f1: file filename=base.qcow2",
    // 0xff over the refcount table: its first entry is an unaligned refcount block offset.
    'io f1 "write -P 0xff 65536 512"',
    "add q5: qcow2 file=f1",
    "add t7: null-co size=1048576",
    "job backup j6 q5 target=t7 sync=full",
  ]);
  expect(message).toBe("QEMU crashed at quit (SIGSEGV)");
});
