/**
 * bdrv_co_write_req_prepare asserts that a write ends within its node unless the edge it comes
 * through holds BLK_PERM_RESIZE. A guest's BlockBackend is stopped before that (its length check),
 * but a parent writing a child of its own may get there: copy-before-write's block-copy writes each
 * source cluster a guest write touches to the target, whatever the target's length, and blkverify
 * writes its `raw` child at the test child's offsets. Neither edge takes resize, so a target or raw
 * child shorter than the data written ends QEMU 7.2 (an abort in 5 runs of 5 each). So does a
 * filter whose length a reopen left as it was (throttle has no variable length) passing a guest
 * write on to a shorter new child.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

function cbw(source: string, target: string, write: string): string {
  return [
    'scenario "copy-before-write onto a target shorter than its source"',
    "require io",
    `image src.${source} ${source} 1M`,
    `image tgt.${target} ${target} 64k`,
    `add src: ${source} file=(file filename=src.${source})`,
    'io src "write -P 0x11 0 64k"',
    `add tgt: ${target} file=(file filename=tgt.${target})`,
    "add cbw: copy-before-write file=src target=tgt",
    'io cbw "write -P 0x22 0 4k"',
    `io cbw "${write}"`,
    'io tgt "read -P 0x11 0 64k"',
    "",
  ].join("\n");
}

const BLKVERIFY = [
  'scenario "blkverify over a raw child shorter than its test child"',
  "require io",
  "image r.raw raw 64k",
  "image t.raw raw 128k",
  "add bv: blkverify raw=(file filename=r.raw) test=(file filename=t.raw)",
  'io bv "write -P 0x11 0 4k"',
  'io bv "write -P 0x11 100k 4k"',
  "",
].join("\n");

/** A throttle node reopened from its qcow2 onto the qcow2's file, much shorter than the image. */
const STALE_FILTER = [
  'scenario "a throttle node keeps its length when a reopen gives it a shorter file"',
  "require io",
  'qmp object-add {"qom-type": "throttle-group", "id": "tg1", "limits": {}}',
  "image a.qcow2 qcow2 1M",
  "add t0: throttle throttle-group=tg1 file=(c2: qcow2 file=(file filename=a.qcow2))",
  "reopen t0 file=c2/file",
  "add c5: copy-on-read file=t0",
  'io c5 "write -P 0x11 0 4k"',
  'io c5 "write -P 0x11 512k 4k"',
  "",
].join("\n");

const ASSERTION = "../../block/io.c:1988: bdrv_co_write_req_prepare: Assertion `offset + bytes <= bs->total_sectors * BDRV_SECTOR_SIZE || child->perm & BLK_PERM_RESIZE' failed.";

const CASES = [
  { name: "copy-before-write copying data past a raw target's end", text: cbw("raw", "raw", "write -P 0x22 128k 4k"), aborts: true },
  { name: "copy-before-write copying zeros past a raw target's end", text: cbw("qcow2", "raw", "write -P 0x22 128k 4k"), aborts: true },
  { name: "copy-before-write copying data past a qcow2 target's end", text: cbw("raw", "qcow2", "write -P 0x22 64k 4k"), aborts: true },
  { name: "copy-before-write copying within the target", text: cbw("raw", "raw", "write -P 0x22 60k 4k"), aborts: false },
  { name: "blkverify writing past its raw child's end", text: BLKVERIFY, aborts: true },
  { name: "a throttle node a reopen left longer than its file, written past the file's end", text: STALE_FILTER, aborts: true },
];

describe("a write past a child's end through an edge without resize, on the model", () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.aborts ? "QEMU 7.2 aborts" : "no crash"}`, async () => {
      const r = await run(c.text, new ModelEngine());
      if (c.aborts) {
        expect(r.transcript!.endsWith("  QEMU crashed: SIGABRT\n(run stopped)\n")).toBe(true);
        expect(r.failures[0]!.message).toContain(ASSERTION);
      } else {
        expect(r.failures.filter((f) => f.kind !== "missing-golden")).toEqual([]);
      }
    });
  }
});

describeWithQemu("a write past a child's end through an edge without resize, on QEMU", () => {
  for (const c of CASES) {
    it(`${c.name}: the transcripts are the same`, async () => {
      const qemu = await run(c.text, new QemuEngine());
      expect((await run(c.text, new ModelEngine())).transcript).toBe(qemu.transcript);
    }, 60_000);
  }
});
