/**
 * A transaction whose blockdev-snapshot-sync action snapshots the overlay an earlier one opened, and
 * which then fails, aborts QEMU 7.2: the earlier action's clean frees its overlay (abort took it out
 * of the graph, and the action held the only other reference), then the later action's clean ends
 * the drained section of that freed node, whose quiesce_counter bdrv_close left at 0
 * (bdrv_do_drained_end's assertion). Committed, or with the earlier overlay kept by a node the
 * later action appended, nothing is freed.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EngineCrashedError } from "../../src/engines/errors.js";
import { type Rig, rig } from "./jobs/support.js";

const sync = (node: string, file: string, overlay: string) => ({
  type: "blockdev-snapshot-sync",
  data: { "node-name": node, "snapshot-file": file, "snapshot-node-name": overlay },
});

describe("blockdev-snapshot-sync of an overlay the transaction frees", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
    await r.engine.createImage({ path: "base.qcow2", format: "qcow2", size: 1 << 20 });
    await r.ok("blockdev-add", { driver: "qcow2", "node-name": "base", file: { driver: "file", filename: `${r.dir}/base.qcow2` } });
    await r.ok("blockdev-add", { driver: "raw", "node-name": "top", file: "base" });
  });
  afterEach(() => r.close());

  it("aborts QEMU when the later action fails after its drained section began", async () => {
    const crash = await r.engine
      .qmp("transaction", { actions: [sync("base", `${r.dir}/ov.qcow2`, "ov"), sync("ov", `${r.dir}/ov.qcow2`, "ovx")] })
      .catch((e: unknown) => e);
    expect(crash).toBeInstanceOf(EngineCrashedError);
    expect((crash as EngineCrashedError).summary).toBe("SIGABRT");
  });

  it("and when the later action is a blockdev-snapshot that finds no overlay", async () => {
    const crash = await r.engine
      .qmp("transaction", { actions: [sync("base", `${r.dir}/ov.qcow2`, "ov"), { type: "blockdev-snapshot", data: { node: "ov", overlay: "nosuch" } }] })
      .catch((e: unknown) => e);
    expect((crash as EngineCrashedError).summary).toBe("SIGABRT");
  });

  it("is only an error when the later action finds no node", async () => {
    const reply = await r.engine.qmp("transaction", { actions: [sync("base", `${r.dir}/ov.qcow2`, "ov"), sync("nosuch", `${r.dir}/o2.qcow2`, "o2")] });
    expect(reply).toMatchObject({ error: { desc: "Cannot find device='' nor node-name='nosuch'" } });
  });

  it("keeps both overlays when the transaction commits", async () => {
    await r.ok("transaction", { actions: [sync("base", `${r.dir}/ov.qcow2`, "ov"), sync("ov", `${r.dir}/ov2.qcow2`, "ov2")] });
    const nodes = (await r.ok("query-named-block-nodes")) as { "node-name": string }[];
    expect(nodes.map((n) => n["node-name"])).toEqual(expect.arrayContaining(["ov", "ov2"]));
  });
});
