/**
 * qcow2's first block status looks for metadata preallocation and ignores how that ends; a refcount
 * table entry that is not cluster aligned is a fatal corruption on a writable node, which takes the
 * driver away in the middle of the answer. When the answer is unallocated, bdrv_co_block_status
 * then reads bs->drv->supports_backing: QEMU 7.2 segfaults, in the command that asked (qemu-io's
 * map), or in a mirror job's first look at its source (most often before blockdev-mirror answers;
 * when the job's coroutine yields first, in the main loop after it). The cases where QEMU lives on
 * are in tests/scenarios/qcow2/corrupt-first-block-status.scn.
 */
import { describe, expect, it } from "vitest";
import type { Engine } from "../../src/engines/engine.js";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(20_000);

/** A fresh 1M qcow2 whose first refcount table entry is all ones, opened writable, then `steps`. */
function corruptRefcountTable(steps: string[]): string {
  return [
    'scenario "a first block status over a corrupt refcount table"',
    "require io",
    "require jobs",
    "image a.qcow2 qcow2 1M",
    "add r0: raw file=(file filename=a.qcow2)",
    'io r0 "write -P 0xff 65536 8"',
    "del r0",
    "add q: qcow2 file=(file filename=a.qcow2)",
    ...steps,
    "",
  ].join("\n");
}

const MAP = corruptRefcountTable(['io q "map"']);
const MIRROR = corruptRefcountTable(["add t: null-co size=1048576", "job mirror j q target=t sync=full"]);

async function crashOf(text: string, engine: Engine): Promise<{ message: string; transcriptEnd: string }> {
  const r = await run(text, engine);
  expect(r.failures).toHaveLength(1);
  return { message: r.failures[0]!.message, transcriptEnd: r.transcript!.split("\n").slice(-4).join("\n") };
}

describe("a first block status over a corrupt refcount table, on the model", () => {
  it("qemu-io map segfaults QEMU in the command", async () => {
    const c = await crashOf(MAP, new ModelEngine());
    expect(c.message).toMatch(/^E_QEMU_CRASHED: QEMU died during 'io' \(QMP qemu-io q "map", killed by signal SIGSEGV\)/);
    expect(c.transcriptEnd).toBe('io q "map"\n  QEMU crashed: SIGSEGV\n(run stopped)\n');
  });

  it("a mirror job's first look at its source segfaults QEMU before blockdev-mirror answers", async () => {
    const c = await crashOf(MIRROR, new ModelEngine());
    expect(c.message).toMatch(/^E_QEMU_CRASHED: QEMU died during 'job' \(QMP blockdev-mirror, killed by signal SIGSEGV\)/);
  });
});

describeWithQemu("a first block status over a corrupt refcount table, on QEMU", () => {
  it("qemu-io map: the model's transcript is QEMU's", async () => {
    const [model, qemu] = [await crashOf(MAP, new ModelEngine()), await crashOf(MAP, new QemuEngine())];
    expect(model.transcriptEnd).toBe(qemu.transcriptEnd);
    expect(qemu.message).toContain("killed by signal SIGSEGV");
    expect(qemu.message).toContain("qcow2: Marking image as corrupt: Refblock offset 0xfffffffffffffe00 unaligned (reftable index: 0)");
  }, 30_000);

  it("a mirror job: QEMU segfaults in blockdev-mirror, as the model has it, or after it answered", async () => {
    const qemu = await crashOf(MIRROR, new QemuEngine());
    expect(qemu.message).toMatch(/^E_QEMU_CRASHED: QEMU died during 'job' \(QMP blockdev-mirror, killed by signal SIGSEGV\)|^QEMU crashed at quit \(SIGSEGV\)/);
  }, 30_000);
});
