/**
 * Where a `transaction` of dirty bitmap actions crashes QEMU 7.2 (tests/differential/qemu-bugs.test.ts
 * shows both on real QEMU), the model crashes too, and only there:
 * - a block-dirty-bitmap-enable that fails before it finds its bitmap is still aborted, and its
 *   abort disables the NULL bitmap (was_enabled is false);
 * - a block-dirty-bitmap-merge of no bitmap that commits frees the backup it never made.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EngineCrashedError } from "../../src/engines/errors.js";
import { type Rig, rig } from "./jobs/support.js";

const action = (type: string, data: Record<string, unknown>) => ({ type, data });

describe("transaction crashes", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
    await r.ok("blockdev-add", { driver: "null-co", "node-name": "n0" });
    await r.ok("block-dirty-bitmap-add", { node: "n0", name: "b0" });
  });
  afterEach(() => r.close());

  const crashOf = (actions: unknown[], properties?: unknown) =>
    r.engine.qmp("transaction", { actions, ...(properties ? { properties } : {}) }).catch((e: unknown) => e);

  it("an enable that finds no bitmap segfaults in its abort", async () => {
    const crash = await crashOf([action("block-dirty-bitmap-enable", { node: "n0", name: "nosuch" })]);
    expect(crash).toBeInstanceOf(EngineCrashedError);
    expect((crash as EngineCrashedError).summary).toBe("SIGSEGV");
  });

  it("so does one refused by the grouped completion mode", async () => {
    const crash = await crashOf([action("block-dirty-bitmap-enable", { node: "n0", name: "b0" })], { "completion-mode": "grouped" });
    expect((crash as EngineCrashedError).summary).toBe("SIGSEGV");
  });

  it("a disable that finds no bitmap is only an error", async () => {
    const reply = await r.engine.qmp("transaction", { actions: [action("block-dirty-bitmap-disable", { node: "n0", name: "nosuch" })] });
    expect(reply).toMatchObject({ error: { desc: "Dirty bitmap 'nosuch' not found" } });
  });

  it("a merge of no bitmap segfaults when it commits", async () => {
    const crash = await crashOf([action("block-dirty-bitmap-merge", { node: "n0", target: "b0", bitmaps: [] })]);
    expect((crash as EngineCrashedError).summary).toBe("SIGSEGV");
  });

  it("and is only undone when another action fails", async () => {
    const reply = await r.engine.qmp("transaction", {
      actions: [action("block-dirty-bitmap-merge", { node: "n0", target: "b0", bitmaps: [] }), action("abort", {})],
    });
    expect(reply).toMatchObject({ error: { desc: "Transaction aborted using Abort action" } });
  });
});
