/**
 * After a truncate, refresh_total_sectors(bs, offset >> BDRV_SECTOR_BITS) asks the driver's
 * .bdrv_getlength, rounded up to whole sectors; a driver without one (copy-before-write,
 * mirror_top, commit_top) keeps the hint: the requested size rounded down. A filter with one
 * (blkdebug, throttle) takes its child's length, which file-posix rounds up. Found by fuzz seed 58
 * (the model rounded copy-before-write up). Each case runs on the model, and on real QEMU when it
 * is installed, where both transcripts must be the same.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

function resized(filter: string, size: number): string {
  return [
    `scenario "block_resize of a ${filter} node to ${size}"`,
    "image d.raw raw 1M",
    `add f: ${filter === "copy-before-write" ? "copy-before-write target=(null-co) file" : "blkdebug image"}=(d: file filename=d.raw)`,
    `qmp block_resize {"node-name": "f", "size": ${size}}`,
    "show node f image.virtual-size",
    "show node d image.virtual-size",
    "",
  ].join("\n");
}

const CASES = {
  "copy-before-write, grown to a size inside a sector": resized("copy-before-write", 3000000),
  "copy-before-write, shrunk to a size inside a sector": resized("copy-before-write", 1000000),
  "blkdebug, grown to a size inside a sector": resized("blkdebug", 3000000),
};

describe("a filter's length after a truncate, on the model", () => {
  it("copy-before-write keeps the requested size rounded down; its file rounds up", async () => {
    for (const [size, own, file] of [
      [3000000, 2999808, 3000320],
      [1000000, 999936, 1000448],
    ]) {
      const r = await run(resized("copy-before-write", size!), new ModelEngine());
      expect(r.failures).toEqual([]);
      expect(r.transcript).toContain(`image.virtual-size=${own}\nshow node d image.virtual-size\n  image.virtual-size=${file}\n`);
    }
  });

  it("blkdebug takes its file's length", async () => {
    const r = await run(CASES["blkdebug, grown to a size inside a sector"], new ModelEngine());
    expect(r.failures).toEqual([]);
    expect(r.transcript).toContain("show node f image.virtual-size\n  image.virtual-size=3000320\n");
  });
});

describeWithQemu("a filter's length after a truncate, on QEMU", () => {
  for (const [name, text] of Object.entries(CASES)) {
    it(`${name}: the transcripts are the same`, { timeout: 60_000 }, async () => {
      const qemu = await run(text, new QemuEngine());
      expect((await run(text, new ModelEngine())).transcript).toBe(qemu.transcript);
    });
  }
});
