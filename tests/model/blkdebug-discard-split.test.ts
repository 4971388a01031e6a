/**
 * blkdebug_co_pdiscard asserts on the pieces block/io.c's discard split hands it (qemu-iotests 177's
 * setup, explored past it): a piece shorter than the request alignment must not cross a discard
 * alignment boundary, and where no discard alignment is set (no opt-discard, and a file child has
 * none to merge) that check divides by zero; a longer piece must be aligned. Over qcow2 the discard
 * alignment is the cluster size, merged into blkdebug's limits (bdrv_merge_limits), and the same
 * discard passes. The model let every one of them through.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

const scenario = (limits: string, below: string, range: string) =>
  [
    'scenario "a discard through blkdebug"',
    "require io",
    "image t.raw raw 64M",
    "image t.qcow2 qcow2 64M",
    below === "qcow2" ? "add q: qcow2 file=(file filename=t.qcow2) discard=unmap" : "add q: file filename=t.raw",
    `add dr: blkdebug image=q ${limits} discard=unmap`,
    `io dr "discard ${range}"`,
    "",
  ].join("\n");

const CASES: Array<[string, string, string, string | null]> = [
  ["align=4k", "file", "80001 1M", "SIGFPE"],
  ["align=512 opt-discard=15M", "file", "80001 1M", "SIGABRT"],
  ["align=512 opt-discard=4k", "file", "512 513", "SIGABRT"],
  ["align=4k", "qcow2", "80001 1M", null],
  ["align=4k opt-discard=64k", "file", "80001 1M", null],
];

describe("a discard through blkdebug on the model", () => {
  for (const [limits, below, range, signal] of CASES) {
    it(`${limits} over ${below}, discard ${range}: ${signal ?? "no crash"}`, async () => {
      const r = await run(scenario(limits, below, range), new ModelEngine());
      if (signal) expect(r.transcript!.endsWith(`io dr "discard ${range}"\n  QEMU crashed: ${signal}\n(run stopped)\n`)).toBe(true);
      else expect(r.failures).toEqual([]);
    });
  }
});

describeWithQemu("a discard through blkdebug on QEMU", () => {
  for (const [limits, below, range] of CASES) {
    it(`${limits} over ${below}, discard ${range}: the transcripts are the same`, async () => {
      const qemu = await run(scenario(limits, below, range), new QemuEngine());
      expect((await run(scenario(limits, below, range), new ModelEngine())).transcript).toBe(qemu.transcript);
    }, 60_000);
  }
});
