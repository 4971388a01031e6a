/**
 * The length a variable-length node keeps in bs->total_sectors, as the last bdrv_getlength left it,
 * and the code that reads it without asking again. The same on real QEMU:
 * tests/scenarios/jobs/filter-length-as-last-refreshed.scn, and the abort in
 * tests/differential/qemu-bugs.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EngineCrashedError } from "../../src/engines/errors.js";
import { type Rig, rig } from "./jobs/support.js";

const KiB = 1024;
const MiB = 1024 * KiB;

describe("a length kept in bs->total_sectors", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
    await r.engine.createImage({ path: "d.raw", format: "raw", size: MiB });
    await r.engine.createImage({ path: "e.raw", format: "raw", size: MiB + 64 * KiB });
    await r.engine.createImage({ path: "t.raw", format: "raw", size: MiB + 64 * KiB });
    await r.ok("blockdev-add", { driver: "raw", "node-name": "r", file: { driver: "file", "node-name": "f", filename: "d.raw" } });
    await r.ok("blockdev-add", { driver: "file", "node-name": "f2", filename: "e.raw" });
    await r.ok("blockdev-add", { driver: "file", "node-name": "t", filename: "t.raw" });
    // The raw node's length is not asked again: it still says 1M.
    await r.ok("blockdev-reopen", { options: [{ driver: "raw", "node-name": "r", file: "f2" }] });
  });
  afterEach(() => r.close());

  it("is what copy-before-write takes for itself: shorter than its copy bitmap, and QEMU 7.2 aborts", async () => {
    const crash = await r.engine.qmp("blockdev-add", { driver: "copy-before-write", "node-name": "c", file: "r", target: "t" }).catch((e: unknown) => e);
    expect(crash).toBeInstanceOf(EngineCrashedError);
    expect((crash as EngineCrashedError).summary).toBe("SIGABRT");
    expect((crash as EngineCrashedError).message).toContain("hbitmap_merge: Assertion `b->orig_size == result->orig_size' failed.");
  });

  it("is refreshed by a query, and then copy-before-write opens", async () => {
    await r.ok("query-named-block-nodes", { flat: true });
    await r.ok("blockdev-add", { driver: "copy-before-write", "node-name": "c", file: "r", target: "t" });
  });
});
