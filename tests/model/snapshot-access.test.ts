/**
 * snapshot-access discards in QEMU 7.2: cbw_co_pdiscard_snapshot resets its access bitmap over the
 * range as it comes (later versions round it to whole clusters first), and hbitmap_reset asserts
 * that the range starts on a cluster and is whole clusters or ends at the bitmap's end. The rest of
 * the driver is in the corpus (io/snapshot-access-*.scn). Each case also runs on real QEMU when it
 * is installed, where both transcripts must be the same.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

function discard(range: string): string {
  return [
    'scenario "a snapshot discard"',
    "require io",
    "image src.qcow2 qcow2 1M",
    "image tmp.qcow2 qcow2 1M",
    "add s: qcow2 file=(file filename=src.qcow2)",
    "add tmp: qcow2 file=(file filename=tmp.qcow2)",
    "add cbw: copy-before-write file=s target=tmp",
    "add acc: snapshot-access file=cbw discard=unmap",
    `io acc "discard ${range}"`,
    'io acc "read 0 4k"',
    "",
  ].join("\n");
}

const CASES = {
  "whole clusters": { text: discard("64k 128k"), crash: false },
  "a range ending at the image's end": { text: discard("960k 64k"), crash: false },
  "a range that is not whole clusters": { text: discard("0 100k"), crash: true },
  "a range that starts inside a cluster": { text: discard("10k 54k"), crash: true },
};

describe("snapshot-access discards, on the model", () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: ${c.crash ? "QEMU 7.2 aborts in hbitmap_reset" : "the range leaves the snapshot"}`, async () => {
      const r = await run(c.text, new ModelEngine());
      if (c.crash) {
        expect(r.transcript).toMatch(/io acc "discard [^"]*"\n {2}QEMU crashed: SIGABRT\n\(run stopped\)\n$/);
        expect(r.failures[0]!.message).toContain("hbitmap_reset");
      } else {
        expect(r.failures).toEqual([]);
      }
    });
  }
});

describeWithQemu("snapshot-access discards, on QEMU", () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: the transcripts are the same`, async () => {
      const qemu = await run(c.text, new QemuEngine());
      expect((await run(c.text, new ModelEngine())).transcript).toBe(qemu.transcript);
    }, 60_000);
  }
});
