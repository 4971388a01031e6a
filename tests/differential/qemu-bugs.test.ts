/**
 * QEMU 7.2.22 bugs the generator keeps out of its sequences, each as its minimal reproducer run on
 * real qemu-storage-daemon. If one stops crashing (a fixed QEMU), its exclusion in the generator
 * can go; the test says so by failing.
 */
import { expect, it } from "vitest";
import { EngineCrashedError } from "../../src/engines/errors.js";
import { describeWithQemu } from "../support/qemu.js";
import { qemuEngine, withEngine } from "./engines.js";
import { withScratchDir } from "./scratch-dir.js";
import { runSteps } from "./run-steps.js";
import { image, io, qmp, type Step } from "./steps.js";

/** Run `steps` on QEMU (with qemu-io when `io`); the crash it ends in, or undefined when it ran to the end. */
async function crashOf(steps: Step[], opts: { io?: boolean } = {}): Promise<EngineCrashedError | undefined> {
  try {
    await withEngine(qemuEngine, (engine, workdir) => runSteps(engine, workdir, steps), opts.io ? new Set(["io"] as const) : undefined);
    return undefined;
  } catch (e) {
    if (e instanceof EngineCrashedError) return e;
    throw e;
  }
}

/** Two nodes, a bitmap on m, and an NBD export of n that publishes it. */
function exportOfAnotherNodesBitmap(): Step[] {
  return [
    qmp("blockdev-add", { driver: "null-co", "node-name": "n", size: 1 << 20 }),
    qmp("blockdev-add", { driver: "null-co", "node-name": "m", size: 1 << 20 }),
    qmp("block-dirty-bitmap-add", { node: "m", name: "c", disabled: true }),
    qmp("nbd-server-start", { addr: { type: "unix", data: { path: "$TEST_DIR/nbd.sock" } } }),
    qmp("block-export-add", { type: "nbd", id: "e1", "node-name": "n", bitmaps: [{ node: "m", name: "c" }] }),
  ];
}

describeWithQemu("QEMU 7.2 bugs kept out of the differential", () => {
  it("a stream job that ran its prepare but is not freed yet: query-named-block-nodes segfaults (gen-jobs.ts)", { timeout: 30_000 }, async () => {
    // stream_prepare drops the copy-on-read filter, but the job keeps it referenced until it is
    // freed; query-named-block-nodes then asks the childless filter its length (cor_getlength).
    // The model crashes there too (tests/model/jobs/stream-dropped-filter.test.ts).
    const stream = { ...qmp("block-stream", { "job-id": "j0", device: "n0", "auto-dismiss": false }), settle: { id: "j0", stops: ["concluded"] } };
    const crash = await crashOf([qmp("blockdev-add", { driver: "null-co", "node-name": "n0" }), stream, qmp("query-named-block-nodes")]);
    expect(crash?.message).toMatch(/QEMU died during 'query-named-block-nodes' \(killed by signal SIGSEGV\)/);
  });

  it("a reopen moving a link into a subgraph that reaches one node twice aborts in the drain counting (gen-reopen.ts)", { timeout: 30_000 }, async () => {
    // cbw4 reaches cbw0's file twice (directly, and through its target cbw0); moving p1's file
    // from cbw0 to cbw4 leaves a subtree drain unbalanced. The model does not count drains per
    // parent and does not crash; the generator keeps such link moves out instead.
    const crash = await crashOf([
      qmp("blockdev-add", { driver: "copy-before-write", "node-name": "cbw0", file: { driver: "null-co" }, target: { driver: "null-co" } }),
      qmp("blockdev-add", { driver: "preallocate", "node-name": "p1", file: "cbw0" }),
      qmp("blockdev-add", { driver: "copy-before-write", "node-name": "cbw4", file: { $node: "cbw0/file" }, target: "cbw0" }),
      qmp("blockdev-reopen", { options: [{ driver: "preallocate", "node-name": "p1", file: "cbw4" }] }),
    ]);
    expect(crash?.message).toMatch(/QEMU died during 'blockdev-reopen' \(killed by signal SIGABRT\)/);
  });

  it("block-dirty-bitmap-merge of no bitmap segfaults (hbitmap_free of the backup it never made)", { timeout: 30_000 }, async () => {
    // The model crashes there too (tests/model/dirty-bitmap-crashes.test.ts).
    const crash = await crashOf([
      qmp("blockdev-add", { driver: "null-co", "node-name": "n0" }),
      qmp("block-dirty-bitmap-add", { node: "n0", name: "b0" }),
      qmp("block-dirty-bitmap-merge", { node: "n0", target: "b0", bitmaps: [] }),
    ]);
    expect(crash?.message).toMatch(/QEMU died during 'block-dirty-bitmap-merge' \(killed by signal SIGSEGV\)/);
  });

  it("a transaction whose block-dirty-bitmap-enable finds no bitmap segfaults (its abort disables NULL)", { timeout: 30_000 }, async () => {
    // The model crashes there too (tests/model/transaction-crashes.test.ts).
    const crash = await crashOf([
      qmp("blockdev-add", { driver: "null-co", "node-name": "n0" }),
      qmp("transaction", { actions: [{ type: "block-dirty-bitmap-enable", data: { node: "n0", name: "nosuch" } }] }),
    ]);
    expect(crash?.message).toMatch(/QEMU died during 'transaction' \(killed by signal SIGSEGV\)/);
  });

  it("a transaction that commits a block-dirty-bitmap-merge of no bitmap segfaults", { timeout: 30_000 }, async () => {
    const crash = await crashOf([
      qmp("blockdev-add", { driver: "null-co", "node-name": "n0" }),
      qmp("block-dirty-bitmap-add", { node: "n0", name: "b0" }),
      qmp("transaction", { actions: [{ type: "block-dirty-bitmap-merge", data: { node: "n0", target: "b0", bitmaps: [] } }] }),
    ]);
    expect(crash?.message).toMatch(/QEMU died during 'transaction' \(killed by signal SIGSEGV\)/);
  });

  it("a write past the end of a dirty bitmap whose node grew below it aborts in hbitmap_set", { timeout: 30_000 }, async () => {
    // block_resize of the raw node's file: the raw node is longer, its bitmap is not. The model
    // aborts there too (tests/model/dirty-bitmap-crashes.test.ts).
    const crash = await crashOf(
      [
        image("r.raw", "raw", 1 << 20),
        qmp("blockdev-add", { driver: "raw", "node-name": "r", file: { driver: "file", "node-name": "f", filename: "$TEST_DIR/r.raw" } }),
        qmp("block-dirty-bitmap-add", { node: "r", name: "b", granularity: 512 }),
        qmp("block_resize", { "node-name": "f", size: 2 << 20 }),
        io("r", "write 983040 196608"),
      ],
      { io: true },
    );
    expect(crash?.message).toMatch(/QEMU died during .*\(.*killed by signal SIGABRT\)/);
  });

  it("copy-before-write over a node whose length changed since it was last asked aborts in hbitmap_merge", { timeout: 30_000 }, async () => {
    // cbw_open copies its file's bs->total_sectors (the raw node's old file: 1M) for its own
    // bitmaps, and sizes the copy bitmap by asking the length again (the new file: 1M + 64K).
    // The model aborts there too (tests/model/preallocate-state.test.ts), so the generator need
    // not keep this out.
    const crash = await crashOf([
      image("d.raw", "raw", 1 << 20),
      image("e.raw", "raw", (1 << 20) + 65536),
      image("t.raw", "raw", (1 << 20) + 65536),
      qmp("blockdev-add", { driver: "raw", "node-name": "r", file: { driver: "file", "node-name": "f", filename: "$TEST_DIR/d.raw" } }),
      qmp("blockdev-add", { driver: "file", "node-name": "f2", filename: "$TEST_DIR/e.raw" }),
      qmp("blockdev-add", { driver: "file", "node-name": "t", filename: "$TEST_DIR/t.raw" }),
      qmp("blockdev-reopen", { options: [{ driver: "raw", "node-name": "r", file: "f2" }] }),
      qmp("blockdev-add", { driver: "copy-before-write", "node-name": "c", file: "r", target: "t" }),
    ]);
    expect(crash?.message).toMatch(/QEMU died during 'blockdev-add' \(killed by signal SIGABRT\)/);
  });

  it("deleting a node whose dirty bitmap an export of another node publishes aborts (released while busy)", { timeout: 30_000 }, async () => {
    // The model aborts there too (tests/model/dirty-bitmap-crashes.test.ts).
    const crash = await crashOf([...exportOfAnotherNodesBitmap(), qmp("blockdev-del", { "node-name": "m" })]);
    expect(crash?.message).toMatch(/QEMU died during 'blockdev-del' \(killed by signal SIGABRT\)/);
  });

  it("quitting while an export publishes another node's dirty bitmap does not: the exports go first", { timeout: 30_000 }, async () => {
    const outcome = await withScratchDir("run", async (workdir) => {
      const engine = qemuEngine();
      await engine.start({ workdir });
      try {
        await runSteps(engine, workdir, exportOfAnotherNodesBitmap());
      } finally {
        // Stopping is `quit`: the exports are asked to go, then the nodes are closed.
        return await engine.stop();
      }
    });
    // A kept process's reset stops the NBD server before it deletes nodes for the same reason (reuse.ts).
    expect(outcome).toEqual({ kind: "clean" });
  });

  it("the same stream, dismissed: query-named-block-nodes answers", { timeout: 30_000 }, async () => {
    const stream = { ...qmp("block-stream", { "job-id": "j0", device: "n0", "auto-dismiss": false }), settle: { id: "j0", stops: ["concluded"] } };
    const dismiss = { ...qmp("job-dismiss", { id: "j0" }), settle: { id: "j0", stops: ["null"] } };
    expect(await crashOf([qmp("blockdev-add", { driver: "null-co", "node-name": "n0" }), stream, dismiss, qmp("query-named-block-nodes")])).toBeUndefined();
  });
});
