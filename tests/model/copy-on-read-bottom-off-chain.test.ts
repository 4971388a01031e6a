/**
 * A copy-on-read filter whose `bottom` is not below where its read looks: cor_co_preadv_part asks
 * bdrv_is_allocated_above(bdrv_backing_chain_next(file), bottom, include_base=true), and
 * bdrv_co_common_block_status_above walks the chain until it meets the base. With `bottom` the
 * filter's own file child, the walk starts below it and never meets it: it runs off the chain's end
 * and bdrv_co_block_status(NULL) reads NULL->drv (QEMU 7.2 dies of SIGSEGV); without a backing file
 * the walk starts at NULL. The model stopped quietly at the end of the chain (and read on), or
 * failed with an internal error. Found by porting qemu-iotests 310. Each case also runs on real QEMU
 * when it is installed, where both transcripts must be the same.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

function text(backed: boolean): string {
  return [
    'scenario "copy-on-read whose bottom is its own file child"',
    "require io",
    "image base.img qcow2 1M",
    `image top.img qcow2 1M${backed ? " backing=base.img backing-fmt=qcow2" : ""}`,
    `add n1: copy-on-read bottom=t file=(t: qcow2 file=(file filename=top.img)${backed ? "" : " backing=null"})`,
    'io n1 "read 0 64k"',
    "",
  ].join("\n");
}

const CASES = { "with a backing file": text(true), "without a backing file": text(false) };

describe("copy-on-read whose bottom is its own file child, on the model", () => {
  for (const [name, t] of Object.entries(CASES)) {
    it(`${name}: QEMU 7.2 dies of SIGSEGV in the read`, async () => {
      const r = await run(t, new ModelEngine());
      expect(r.transcript!.endsWith('io n1 "read 0 64k"\n  QEMU crashed: SIGSEGV\n(run stopped)\n')).toBe(true);
    });
  }
});

describeWithQemu("copy-on-read whose bottom is its own file child, on QEMU", () => {
  for (const [name, t] of Object.entries(CASES)) {
    it(`${name}: the transcripts are the same`, async () => {
      const qemu = await run(t, new QemuEngine());
      expect(qemu.transcript!.endsWith("QEMU crashed: SIGSEGV\n(run stopped)\n")).toBe(true);
      expect((await run(t, new ModelEngine())).transcript).toBe(qemu.transcript);
    }, 60_000);
  }
});
