/**
 * bdrv_co_do_copy_on_readv walks the request rounded out to whole clusters. Through a raw window
 * that starts inside a cluster, a request whose rounded clusters run past its end into an allocated
 * one reads there directly with `MIN(pnum - skip_bytes, bytes - progress)`, which is negative once
 * the request is covered, and bdrv_driver_preadv's &error_abort check ends QEMU 7.2
 * ("bytes is negative"). The same read through a window on a cluster boundary is no crash. Each
 * case also runs on real QEMU when it is installed (it aborted in 5 runs of 5).
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

function text(windowOffset: number): string {
  return [
    'scenario "copy-on-read through a raw window"',
    "require io",
    "image b.qcow2 qcow2 1M",
    "image t.qcow2 qcow2 1M",
    "add b: qcow2 file=(bf: file filename=b.qcow2)",
    "add t: qcow2 file=(tf: file filename=t.qcow2) backing=b",
    `add x0: raw file=t offset=${windowOffset} size=196608`,
    "add x1: copy-on-read file=x0",
    'io x0 "write -P 0xec 65536 66560"',
    'io x1 "read -v 512 16"',
    "",
  ].join("\n");
}

const CASES = [
  { name: "a window 4 KiB into a cluster", text: text(4096), aborts: true },
  { name: "a window on a cluster boundary", text: text(65536), aborts: false },
];

describe("copy-on-read whose rounded clusters run past the request, on the model", () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.aborts ? "QEMU 7.2 aborts" : "no crash"}`, async () => {
      const r = await run(c.text, new ModelEngine());
      if (c.aborts) {
        expect(r.transcript!.endsWith("  QEMU crashed: SIGABRT\n(run stopped)\n")).toBe(true);
        expect(r.failures[0]!.message).toContain("Unexpected error in bdrv_check_qiov_request() at ../../block/io.c:976:\nbytes is negative: -");
      } else {
        expect(r.failures.filter((f) => f.kind !== "missing-golden")).toEqual([]);
      }
    });
  }
});

describeWithQemu("copy-on-read whose rounded clusters run past the request, on QEMU", () => {
  for (const c of CASES) {
    it(`${c.name}: the transcripts are the same`, async () => {
      const qemu = await run(c.text, new QemuEngine());
      expect((await run(c.text, new ModelEngine())).transcript).toBe(qemu.transcript);
    }, 60_000);
  }
});
