/**
 * A backup's copy-before-write filter marks what it copied in its done bitmap, made as long as the
 * source was when the job started. A write through the filter past that end (a qcow2 allocating
 * metadata at the end of the file node being backed up) sets bits past the bitmap, and QEMU 7.2
 * aborts in hbitmap_set; a write within it is copied and goes on. Found by fuzz seed 66.
 * Each case also runs on real QEMU when it is installed.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../../support/qemu.js";
import { inlineRunner } from "../../support/run-inline.js";

const run = inlineRunner(20_000);

/** A backup of the file node under a qcow2, `before` written ahead of the job, `after` once it runs. */
function backupOfFile(targetSize: string, before: string[], after: string): string {
  return [
    'scenario "a write through a backup\'s filter past the source\'s first end"',
    "require io",
    "require jobs",
    "image base.qcow2 qcow2 1M",
    "add r1: raw file=(q: qcow2 file=(c2: file filename=base.qcow2))",
    ...before,
    `image t4.qcow2 qcow2 ${targetSize}`,
    "add t4: qcow2 file=(file filename=t4.qcow2)",
    "job backup j3 c2 target=t4 sync=top speed=1",
    after,
    "",
  ].join("\n");
}

const HBITMAP = "../../util/hbitmap.c:479: hbitmap_set: Assertion `last < hb->size' failed.";

const CASES = {
  // The image file's length after qemu-img create (197120) and after one allocating write (384k).
  "a write that allocates an L2 table past the file's end aborts": backupOfFile("197120", [], 'io r1 "write -z 960k 64k"'),
  "a write into clusters already allocated is copied": backupOfFile("384k", ['io r1 "write -P 1 0 4k"'], 'io r1 "write -P 2 0 4k"'),
};

describe("a write through a backup's filter past the source's first end, on the model", () => {
  it("aborts in hbitmap_set", async () => {
    const r = await run(CASES["a write that allocates an L2 table past the file's end aborts"], new ModelEngine());
    expect(r.transcript!.endsWith('io r1 "write -z 960k 64k"\n  QEMU crashed: SIGABRT\n(run stopped)\n')).toBe(true);
    expect(r.failures[0]!.message).toContain(HBITMAP);
  });

  it("and a write within it goes on", async () => {
    const r = await run(CASES["a write into clusters already allocated is copied"], new ModelEngine());
    expect(r.transcript).toContain('io r1 "write -P 2 0 4k"\n  ok\n  wrote 4096/4096 bytes at offset 0\n');
  });
});

describeWithQemu("a write through a backup's filter past the source's first end, on QEMU", () => {
  for (const [name, text] of Object.entries(CASES)) {
    it(`${name}, as the model says`, async () => {
      const [model, qemu] = [await run(text, new ModelEngine()), await run(text, new QemuEngine())];
      expect(model.transcript).toBe(qemu.transcript);
    }, 30_000);
  }
});
