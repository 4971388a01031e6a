/**
 * An L1 entry marked COPIED whose offset is 0: a write below it loads that L2 table in place
 * (get_cluster_table allocates only where COPIED is clear), and qcow2_cache_do_get asserts that no
 * table sits at offset 0. A read finds no L2 table there and reads zeros. The model threw a
 * TypeError on the write. The case also runs on real QEMU when it is installed.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(20_000);

function l1EntryAtZero(step: string): string {
  return [
    'scenario "an L1 entry at offset 0"',
    "require io",
    "image d.qcow2 qcow2 1M",
    "add q: qcow2 file=(qf: file filename=d.qcow2)",
    'io q "write -P 0x11 0 64k"',
    "del q",
    // The L1 table (at 192k) holds 80 00 00 00 00 04 00 00: keep COPIED, make the offset 0.
    "add r: raw file=(file filename=d.qcow2)",
    'io r "write -P 0x00 196613 1"',
    "del r",
    "add q: qcow2 file=(qf: file filename=d.qcow2)",
    step,
    "",
  ].join("\n");
}

const CASES = {
  "a write aborts in qcow2_cache_do_get": l1EntryAtZero('io q "write -P 0x22 0 4k"'),
  "a read reads zeros": l1EntryAtZero('io q "read -P 0 0 4k"'),
};

describe("an L1 entry at offset 0, on the model", () => {
  it("a write aborts in qcow2_cache_do_get", async () => {
    const r = await run(CASES["a write aborts in qcow2_cache_do_get"], new ModelEngine());
    expect(r.transcript!.endsWith('io q "write -P 0x22 0 4k"\n  QEMU crashed: SIGABRT\n(run stopped)\n')).toBe(true);
    expect(r.failures[0]!.message).toContain("../../block/qcow2-cache.c:330: qcow2_cache_do_get: Assertion `offset != 0' failed.");
  });

  it("a read reads zeros", async () => {
    const r = await run(CASES["a read reads zeros"], new ModelEngine());
    expect(r.transcript).toContain('io q "read -P 0 0 4k"\n  ok\n  read 4096/4096 bytes at offset 0\n');
  });
});

describeWithQemu("an L1 entry at offset 0, on QEMU", () => {
  for (const [name, text] of Object.entries(CASES)) {
    it(`${name}, as the model says`, async () => {
      const [model, qemu] = [await run(text, new ModelEngine()), await run(text, new QemuEngine())];
      expect(model.transcript).toBe(qemu.transcript);
    }, 30_000);
  }
});
