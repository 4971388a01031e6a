/**
 * QEMU 7.2.22 bugs the generator keeps out of its sequences, each as its minimal reproducer run on
 * real qemu-storage-daemon. If one stops crashing (a fixed QEMU), its exclusion in the generator
 * can go; the test says so by failing.
 */
import { expect, it } from "vitest";
import { EngineCrashedError } from "../../src/engines/errors.js";
import { describeWithQemu } from "../support/qemu.js";
import { qemuEngine, withEngine } from "./engines.js";
import { withEngineImages } from "./image-files.js";
import { runSteps } from "./run-steps.js";
import { image, io, qmp, type Step } from "./steps.js";

/** Run `steps` on QEMU; the crash it ends in, or undefined when it ran to the end. */
async function crashOf(steps: Step[]): Promise<EngineCrashedError | undefined> {
  try {
    await withEngine(qemuEngine, (engine, workdir) => runSteps(engine, workdir, steps));
    return undefined;
  } catch (e) {
    if (e instanceof EngineCrashedError) return e;
    throw e;
  }
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

  it("a stream on a qcow2 whose file was truncated through a preallocate filter never ends (gen-jobs.ts)", { timeout: 60_000 }, async () => {
    // The model ends the job with an I/O error (the header's tables lie past the new end of file);
    // QEMU 7.2.22 hangs: its monitor answers nothing more (not even query-jobs), so the differential
    // would wait for the job's end until it gave up.
    const steps: Step[] = [
      image("base.qcow2", "qcow2", 1 << 20),
      image("mid.qcow2", "qcow2", 1 << 20),
      qmp("blockdev-add", { driver: "preallocate", "node-name": "p0", file: { driver: "file", filename: "$TEST_DIR/base.qcow2" } }),
      io("p0", "truncate 65536"),
      qmp("blockdev-add", { driver: "raw", "node-name": "r3", file: { driver: "file", filename: "$TEST_DIR/mid.qcow2" } }),
      qmp("blockdev-add", { driver: "qcow2", "node-name": "q6", file: { $node: "p0/file" }, backing: "r3" }),
      qmp("block-stream", { "job-id": "j9", device: "q6" }),
    ];
    const { result } = await withEngineImages(qemuEngine, new Set(["io"]), [], async (engine, workdir) => {
      await runSteps(engine, workdir, steps);
      const first = await engine.qmp("query-jobs");
      // A 1 MiB stream ends within milliseconds; this one makes no progress and then takes the
      // monitor with it. The engine's stop kills the QEMU that hangs.
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      const later = engine.qmp("query-jobs").then(
        () => true,
        () => true,
      );
      const answered = await Promise.race([later, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000))]);
      return { first, answered };
    });
    expect(result.first).toMatchObject({ return: [{ id: "j9", status: "running", "current-progress": 0 }] });
    expect(result.answered).toBe(false);
  });

  it("the same stream, dismissed: query-named-block-nodes answers", { timeout: 30_000 }, async () => {
    const stream = { ...qmp("block-stream", { "job-id": "j0", device: "n0", "auto-dismiss": false }), settle: { id: "j0", stops: ["concluded"] } };
    const dismiss = { ...qmp("job-dismiss", { id: "j0" }), settle: { id: "j0", stops: ["null"] } };
    expect(await crashOf([qmp("blockdev-add", { driver: "null-co", "node-name": "n0" }), stream, dismiss, qmp("query-named-block-nodes")])).toBeUndefined();
  });
});
