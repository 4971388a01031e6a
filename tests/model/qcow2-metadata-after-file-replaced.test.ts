/**
 * qcow2 writes its cached metadata through bs->file, whichever node that edge reaches now: after
 * blockdev-snapshot put an overlay between a qcow2 node and its file (bdrv_append moves the edge),
 * a flush writes the dirty L2 table and refcount block into the overlay, whose old file the
 * snapshot made read-only. The model flushed to the node the tables were loaded from, and failed
 * with EPERM (found by fuzz seed 59). Each case runs on the model, and on real QEMU when it is
 * installed, where both transcripts must be the same.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

function snapshotBelow(...after: string[]): string {
  return [
    'scenario "a qcow2 node whose file a snapshot replaced"',
    "require io",
    "image a.qcow2 qcow2 1M",
    "add q: qcow2 file=(c: raw file=(file filename=a.qcow2))",
    'io q "write -P 0xff 524288 4096"',
    "image ov.qcow2 qcow2 1M",
    "add o: qcow2 file=(file filename=ov.qcow2)",
    'qmp blockdev-snapshot {"node": "c", "overlay": "o"}',
    ...after,
    "",
  ].join("\n");
}

const CASES = {
  // The reopen flushes q first; QEMU then refuses the file's other driver.
  "a reopen that fails after its flush": snapshotBelow("add r: copy-on-read file=q", "reopen r/file -> error \"Cannot change the option 'file.driver'\""),
  "a read-only reopen, then the overlay's map": snapshotBelow("reopen q file=o read-only=on", 'io q "read -P 0xff 524288 4096"', 'io o "map"'),
};

describe("qcow2 metadata after blockdev-snapshot replaced its file, on the model", () => {
  it("the flush writes into the overlay", async () => {
    const r = await run(CASES["a read-only reopen, then the overlay's map"], new ModelEngine());
    expect(r.failures).toEqual([]);
    expect(r.transcript).toContain(
      [
        "  64 KiB (0x10000) bytes     allocated at offset 128 KiB (0x20000)",
        "  64 KiB (0x10000) bytes not allocated at offset 192 KiB (0x30000)",
        "  64 KiB (0x10000) bytes     allocated at offset 256 KiB (0x40000)",
      ].join("\n"),
    );
  });

  it("a failing reopen says why QEMU does", async () => {
    const r = await run(CASES["a reopen that fails after its flush"], new ModelEngine());
    expect(r.failures).toEqual([]);
  });
});

describeWithQemu("qcow2 metadata after blockdev-snapshot replaced its file, on QEMU", () => {
  for (const [name, text] of Object.entries(CASES)) {
    it(`${name}: the transcripts are the same`, { timeout: 60_000 }, async () => {
      const qemu = await run(text, new QemuEngine());
      expect((await run(text, new ModelEngine())).transcript).toBe(qemu.transcript);
    });
  }
});
