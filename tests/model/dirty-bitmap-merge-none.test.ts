/**
 * QEMU 7.2 segfaults on a `block-dirty-bitmap-merge` with an empty `bitmaps` list: the backup of the
 * target is made by the first merge, and with none it frees a NULL bitmap
 * (tests/differential/qemu-bugs.test.ts shows it on real qemu-storage-daemon). The model crashes
 * there too; a target it cannot find is an error first, and a list with a source merges.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EngineCrashedError } from "../../src/engines/errors.js";
import { type Rig, rig } from "./jobs/support.js";

describe("block-dirty-bitmap-merge of no bitmap", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
    await r.ok("blockdev-add", { driver: "null-co", "node-name": "n0" });
    await r.ok("block-dirty-bitmap-add", { node: "n0", name: "b0" });
  });
  afterEach(() => r.close());

  it("crashes the model as it crashes QEMU", async () => {
    const crash = await r.engine.qmp("block-dirty-bitmap-merge", { node: "n0", target: "b0", bitmaps: [] }).catch((e: unknown) => e);
    expect(crash).toBeInstanceOf(EngineCrashedError);
    expect((crash as EngineCrashedError).summary).toBe("SIGSEGV");
  });

  it("is an error first when the target is not there", async () => {
    const reply = await r.engine.qmp("block-dirty-bitmap-merge", { node: "n0", target: "nosuch", bitmaps: [] });
    expect(reply).toMatchObject({ error: { desc: "Dirty bitmap 'nosuch' not found" } });
  });

  it("merges a source", async () => {
    await r.ok("block-dirty-bitmap-add", { node: "n0", name: "b1" });
    await r.ok("block-dirty-bitmap-merge", { node: "n0", target: "b0", bitmaps: ["b1", { node: "n0", name: "b1" }] });
  });
});
