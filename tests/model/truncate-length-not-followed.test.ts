/**
 * bdrv_co_truncate ends its request with bdrv_co_write_req_finish(child, offset - new_bytes,
 * new_bytes), where offset is the node's length as refresh_total_sectors finds it after the
 * truncate and new_bytes what the request grew it by. A filter whose length is not its filtered
 * child's does not grow with it: blkverify passes the truncate to `raw` but takes its length from
 * `test`. When that length is less than the growth, the request starts at a negative offset, and
 * bdrv_check_qiov_request's &error_abort ends QEMU 7.2 (5 runs of 5). Each case runs on the model,
 * and on real QEMU when it is installed, where both transcripts must be the same.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

function blkverify(testSize: string, size: number): string {
  return [
    'scenario "block_resize of a blkverify node"',
    "image r.raw raw 64k",
    `image t.raw raw ${testSize}`,
    "add v: blkverify raw=(r: file filename=r.raw) test=(t: file filename=t.raw)",
    `qmp block_resize {"node-name": "v", "size": ${size}}`,
    "show node v image.virtual-size",
    "show node r image.virtual-size",
    "",
  ].join("\n");
}

const CASES = {
  // Grown by 2M - 192k; its length stays 192k: the request's finish starts below 0.
  "a test child shorter than the growth": blkverify("192k", 2097152),
  // Grown by 2M - 1536k; its length stays 1536k: the finish starts within the node.
  "a test child longer than the growth": blkverify("1536k", 2097152),
};

describe("a truncate whose node does not follow it, on the model", () => {
  it("aborts where the request would finish at a negative offset", async () => {
    const r = await run(CASES["a test child shorter than the growth"], new ModelEngine());
    expect(r.transcript!.endsWith('qmp block_resize {"node-name": "v", "size": 2097152}\n  QEMU crashed: SIGABRT\n(run stopped)\n')).toBe(true);
    expect(r.failures[0]!.message).toContain("Unexpected error in bdrv_check_qiov_request() at ../../block/io.c:971:\noffset is negative: -1703936");
  });

  it("grows the filtered child and keeps the filter's own length otherwise", async () => {
    const r = await run(CASES["a test child longer than the growth"], new ModelEngine());
    expect(r.failures).toEqual([]);
    expect(r.transcript).toContain("show node v image.virtual-size\n  image.virtual-size=1572864\nshow node r image.virtual-size\n  image.virtual-size=2097152\n");
  });
});

describeWithQemu("a truncate whose node does not follow it, on QEMU", () => {
  for (const [name, text] of Object.entries(CASES)) {
    it(`${name}: the transcripts are the same`, { timeout: 60_000 }, async () => {
      const qemu = await run(text, new QemuEngine());
      expect((await run(text, new ModelEngine())).transcript).toBe(qemu.transcript);
    });
  }
});
