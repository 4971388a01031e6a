/**
 * A sync=none backup of an inline node whose parent is then deleted: the job and its
 * copy-before-write filter hold the source alone. Cancelled, the job wakes inside
 * block-job-cancel, ends, and job_exit runs before the reply goes out; backup_clean drops the
 * filter (bdrv_drop_filter detaches its source link first), so the source is closed while the
 * filter's copy bitmap is still on it, and bdrv_close asserts that no bitmap is left.
 */
import { describe, expect, it } from "vitest";
import type { Engine } from "../../../src/engines/engine.js";
import { ModelEngine } from "../../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../../support/qemu.js";
import { inlineRunner } from "../../support/run-inline.js";

const run = inlineRunner(20_000);

const text = [
  'scenario "a sync=none backup whose source only the job still holds, cancelled"',
  "require jobs",
  "add r0: raw file=(c1: null-co)",
  "add t3: null-co",
  "job backup j2 c1 target=t3 sync=none",
  "del r0",
  "job cancel j2",
  "wait j2 null",
  "",
].join("\n");

async function crashOf(engine: Engine): Promise<{ message: string; transcriptEnd: string }> {
  const r = await run(text, engine);
  expect(r.failures).toHaveLength(1);
  return { message: r.failures[0]!.message, transcriptEnd: r.transcript!.split("\n").slice(-4).join("\n") };
}

describe("a backup's source freed as its filter is dropped, on the model", () => {
  it("aborts in bdrv_close during block-job-cancel", async () => {
    const c = await crashOf(new ModelEngine());
    expect(c.message).toMatch(/^E_QEMU_CRASHED: QEMU died during 'job' \(QMP block-job-cancel, killed by signal SIGABRT\)/);
    expect(c.message).toContain("bdrv_close: Assertion `QLIST_EMPTY(&bs->dirty_bitmaps)' failed.");
    expect(c.transcriptEnd).toContain("job cancel j2\n  QEMU crashed: SIGABRT");
  });
});

describeWithQemu("a backup's source freed as its filter is dropped, on QEMU", () => {
  it("the model's transcript and assertion are QEMU's", async () => {
    const [model, qemu] = [await crashOf(new ModelEngine()), await crashOf(new QemuEngine())];
    expect(model.transcriptEnd).toBe(qemu.transcriptEnd);
    expect(qemu.message).toContain("bdrv_close: Assertion `QLIST_EMPTY(&bs->dirty_bitmaps)' failed.");
  }, 30_000);
});
