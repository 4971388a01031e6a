/**
 * bdrv_unfreeze_backing_chain walks from the job's filter down to the base with
 * bdrv_filter_or_cow_child, which is NULL for a node without a driver; from NULL the walk goes on
 * to NULL forever, never meeting the base. A stream whose first copy corrupts its qcow2 node
 * (qcow2_signal_corruption takes the driver away) ends, and its clean (bdrv_cor_filter_drop)
 * spins in the main loop: QEMU 7.2 answers no command after it (found by fuzz seed 59; gdb on
 * qemu-storage-daemon showed the loop). Each case runs on the model, and on real QEMU when it is
 * installed, where both transcripts must be the same.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

/** The qcow2 node's tables say nothing once its file is null-co: the stream's first allocation is at offset 0. */
const STREAM_CORRUPTS = [
  'scenario "a stream whose node loses its driver"',
  "require jobs",
  "image a.qcow2 qcow2 1M",
  "add f: file filename=a.qcow2",
  "add n: null-co",
  "add q: qcow2 file=f backing=f",
  "reopen q file=n",
  "job stream j q",
  "qmp query-jobs",
  "",
].join("\n");

const ENDS_AFTER_STREAM = STREAM_CORRUPTS.replace("qmp query-jobs\n", "");

describe("a job's chain unfrozen through a node without a driver, on the model", () => {
  it("hangs", async () => {
    const r = await run(STREAM_CORRUPTS, new ModelEngine());
    expect(r.transcript).toContain("job stream j q\n  ok\nqmp query-jobs\n  QEMU hung and was killed\n(run stopped)\n");
  });

  it("at quit, when no command follows the job's end", async () => {
    const r = await run(ENDS_AFTER_STREAM, new ModelEngine());
    expect(r.transcript!.endsWith("job stream j q\n  ok\n(quit)\n  QEMU hung at quit and was killed\n")).toBe(true);
  });
});

describeWithQemu("a job's chain unfrozen through a node without a driver, on QEMU", () => {
  // A command QEMU does not answer within 3 s, or a quit not done in 2 s, is taken for a hang.
  const qemu = () => new QemuEngine({ callTimeoutMs: 3_000, quitTimeoutMs: 2_000 });
  // Only quit: on a loaded machine QEMU may answer a command sent right after block-stream before
  // the job's first copy (query-jobs then shows it running, progress 0) and hang at quit; the
  // model, like an idle QEMU, has the job end first.
  it("quit hangs: the transcripts are the same", { timeout: 60_000 }, async () => {
    const q = await run(ENDS_AFTER_STREAM, qemu());
    expect((await run(ENDS_AFTER_STREAM, new ModelEngine())).transcript).toBe(q.transcript);
  });
});
