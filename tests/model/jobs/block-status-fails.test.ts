/**
 * Jobs whose source answers a block status or a read with an error before any I/O: a
 * snapshot-access node over a driver without the snapshot API fails both with ENOTSUP (fuzz seed 96;
 * the model threw its IoError out of the job and stopped the run). QEMU 7.2:
 * - block-copy takes a failed block status for one cluster of data (block_copy_block_status), and
 *   the read fails the job; backup sync=top fails at once in block_copy_reset_unallocated;
 * - mirror_dirty_init returns the error, mirror_iteration copies what a failed status covers;
 * - stream takes the error action for a failed bdrv_is_allocated; under on-error=ignore it tries
 *   the same chunk again for ever (until cancelled);
 * - a backup under on-error=ignore makes a new block-copy call at once, and one whose tasks failed
 *   before any I/O never yields: QEMU spins inside blockdev-backup and answers nothing more.
 * Each case but the last also runs on real QEMU when it is installed, where both transcripts must
 * be the same (QEMU takes its QMP timeout to give up on the last).
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../../support/qemu.js";
import { inlineRunner } from "../../support/run-inline.js";

const run = inlineRunner(30_000);

/** With `top` over s0 for stream; without, s0 is a root node, as a mirror's source must be. */
function text(job: string, after: string[] = [], top = !job.startsWith("job mirror")): string {
  return [
    'scenario "a job over a snapshot-access node without a snapshot API below"',
    "require jobs",
    "require io",
    "image base.qcow2 qcow2 1M",
    "image t.qcow2 qcow2 1M",
    "image top.qcow2 qcow2 1M",
    "add s0: snapshot-access file=(qcow2 file=(file filename=base.qcow2))",
    "add t: qcow2 file=(file filename=t.qcow2)",
    ...(top ? ["add top: qcow2 file=(file filename=top.qcow2) backing=s0", 'io top "write -P 0x3 0 64k"'] : []),
    job,
    ...after,
    "",
  ].join("\n");
}

const FAILED = (type: string) => `  event: BLOCK_JOB_COMPLETED device=j error="Operation not supported" speed=0 type=${type}\n`;

const CASES: Record<string, { text: string; ends: string }> = {
  "backup sync=full": { text: text("job backup j s0 target=t sync=full", ["wait j null"]), ends: FAILED("backup") },
  "backup sync=top": { text: text("job backup j s0 target=t sync=top", ["wait j null"]), ends: FAILED("backup") },
  "mirror sync=full": { text: text("job mirror j s0 target=t sync=full", ["wait j null"]), ends: FAILED("mirror") },
  "mirror sync=top": { text: text("job mirror j s0 target=t sync=top", ["wait j null"]), ends: FAILED("mirror") },
  "stream": { text: text("job stream j top", ["wait j null"]), ends: FAILED("stream") },
  "stream on-error=ignore, then cancelled": {
    text: text("job stream j top on-error=ignore", ['qmp block-job-cancel {"device": "j"}', "wait j null"]),
    ends: "  event: BLOCK_JOB_CANCELLED device=j speed=0 type=stream\n",
  },
};

describe("jobs whose source fails before any I/O, on the model", () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(name, async () => {
      const r = await run(c.text, new ModelEngine());
      expect(r.failures).toEqual([]);
      expect(r.transcript!.endsWith(c.ends)).toBe(true);
    });
  }

  it("backup on-error=ignore: QEMU would not answer blockdev-backup", async () => {
    const r = await run(text("job backup j s0 target=t sync=full on-source-error=ignore"), new ModelEngine());
    expect(r.failures.map((f) => f.message)).toEqual([
      expect.stringContaining("E_QEMU_WOULD_HANG: QEMU would not answer 'job' (QMP blockdev-backup)"),
    ]);
  });
});

describeWithQemu("jobs whose source fails before any I/O, on QEMU", () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: the transcripts are the same`, async () => {
      const qemu = await run(c.text, new QemuEngine());
      expect(qemu.failures).toEqual([]);
      expect((await run(c.text, new ModelEngine())).transcript).toBe(qemu.transcript);
    }, 60_000);
  }
});
