/**
 * blockdev-mirror from a node in an iothread: qmp_blockdev_mirror moves the target into the
 * source's iothread and holds that context's lock; bdrv_append then moves the source (which has no
 * other parent) into the main loop with the job's filter, and blk_insert_bs moves the target there
 * too. When that insert fails (a permission or lock conflict), its abort moves the target back into
 * the iothread: bdrv_try_change_aio_context takes the lock a second time, and its drained end waits
 * for a throttle node's drain callback in the iothread, which cannot take the lock. QEMU 7.2 never
 * answers (fuzz seeds 91 and 92); the model stops there too, with the same transcript.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../../support/qemu.js";
import { inlineRunner } from "../../support/run-inline.js";

const run = inlineRunner(20_000);

/** A mirror from `f9` (in iothread io3) to the throttle node `t0`, whose insert fails with a lock conflict. */
function failedInsert(target: "throttle" | "raw"): string {
  return [
    'scenario "mirror target insert fails"',
    "require jobs",
    'qmp object-add {"qom-type": "throttle-group", "id": "tg1", "limits": {}}',
    "image e.raw raw 64k",
    target === "throttle" ? "add t0: throttle throttle-group=tg1 file=(file filename=e.raw)" : "add t0: raw file=(file filename=e.raw)",
    "iothread io3",
    "add f9: file filename=e.raw",
    'qmp x-blockdev-set-iothread {"node-name": "f9", "iothread": "io3", "force": true}',
    'job mirror j14 f9 target=t0 sync=none -> error "Failed to get shared \\"consistent read\\" lock"',
    "show graph",
    "",
  ].join("\n");
}

const HANG_END = ["  QEMU hung and was killed", "(run stopped)", ""].join("\n");

describe("a mirror whose target insert fails, source in an iothread, on the model", () => {
  it("hangs where the target is a throttle node", async () => {
    const r = await run(failedInsert("throttle"), new ModelEngine());
    expect(r.transcript!.endsWith(`job mirror j14 f9 target=t0 sync=none -> error "Failed to get shared \\"consistent read\\" lock"\n${HANG_END}`)).toBe(true);
    expect(r.failures[0]!.message).toMatch(/^E_QEMU_WOULD_HANG: .*the model stops where QEMU 7\.2 hangs/s);
  });

  it("answers with the lock conflict where no drain callback waits in the iothread", async () => {
    const r = await run(failedInsert("raw"), new ModelEngine());
    expect(r.transcript).toContain('-> error "Failed to get shared \\"consistent read\\" lock"\n  error: Failed to get shared "consistent read" lock');
    expect(r.failures).toEqual([]);
  });
});

describeWithQemu("a mirror whose target insert fails, source in an iothread, on QEMU", () => {
  it("QEMU 7.2 hangs where the model says it does, and answers where the model does", { timeout: 60_000 }, async () => {
    for (const target of ["throttle", "raw"] as const) {
      const model = await run(failedInsert(target), new ModelEngine());
      const qemu = await run(failedInsert(target), new QemuEngine({ callTimeoutMs: 3_000 }));
      expect(qemu.transcript).toBe(model.transcript);
    }
  });
});
