/**
 * quorum's child bookkeeping in the model (block/quorum.c): x-blockdev-change names a new child
 * `children.N` from s->next_child_index, which only removing the newest child gives back; the
 * json: filename lists the children gap-less (quorum_gather_child_options).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";

describe("quorum in the model", () => {
  let dir: string;
  let engine: ModelEngine;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "blockcheck-quorum-"));
    engine = new ModelEngine();
    await engine.start({ workdir: dir });
    for (const n of ["n0", "n1", "n2", "n3"]) await engine.qmp("blockdev-add", { driver: "null-co", "node-name": n, size: 4096 });
  });
  afterEach(async () => {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function childNames(): Promise<string[]> {
    const reply = (await engine.qmp("x-debug-query-block-graph")) as { return: { edges: { name: string; parent: number }[]; nodes: { id: number; name: string }[] } };
    const q = reply.return.nodes.find((n) => n.name === "q0")!.id;
    return reply.return.edges.filter((e) => e.parent === q).map((e) => e.name).sort();
  }

  it("names added children after the highest index and reuses only the newest one's", async () => {
    expect(await engine.qmp("blockdev-add", { driver: "quorum", "node-name": "q0", children: ["n0", "n1"], "vote-threshold": 1 })).toEqual({ return: {} });
    expect(await engine.qmp("x-blockdev-change", { parent: "q0", node: "n2" })).toEqual({ return: {} });
    expect(await childNames()).toEqual(["children.0", "children.1", "children.2"]);
    // Removing an older child leaves a gap that the next child does not fill.
    expect(await engine.qmp("x-blockdev-change", { parent: "q0", child: "children.0" })).toEqual({ return: {} });
    expect(await engine.qmp("x-blockdev-change", { parent: "q0", node: "n0" })).toEqual({ return: {} });
    expect(await childNames()).toEqual(["children.1", "children.2", "children.3"]);
    // Removing the newest gives its index back.
    expect(await engine.qmp("x-blockdev-change", { parent: "q0", child: "children.3" })).toEqual({ return: {} });
    expect(await engine.qmp("x-blockdev-change", { parent: "q0", node: "n3" })).toEqual({ return: {} });
    expect(await childNames()).toEqual(["children.1", "children.2", "children.3"]);
  });

  it("lists its children gap-less in its json: filename, in the order they were attached", async () => {
    await engine.qmp("blockdev-add", { driver: "quorum", "node-name": "q0", children: ["n0", "n1"], "vote-threshold": 1 });
    await engine.qmp("blockdev-add", { driver: "null-co", "node-name": "z0", size: 4096, "read-zeroes": true });
    await engine.qmp("x-blockdev-change", { parent: "q0", child: "children.0" });
    await engine.qmp("x-blockdev-change", { parent: "q0", node: "z0" });
    const reply = (await engine.qmp("query-named-block-nodes", { flat: true })) as { return: { "node-name": string; file: string }[] };
    const file = reply.return.find((n) => n["node-name"] === "q0")!.file;
    expect(JSON.parse(file.slice("json:".length))).toEqual({
      children: [
        { driver: "null-co", size: 4096 },
        { driver: "null-co", size: 4096, "read-zeroes": true },
      ],
      driver: "quorum",
      "vote-threshold": 1,
    });
    // A child that was removed is free again.
    expect(await engine.qmp("blockdev-del", { "node-name": "n0" })).toEqual({ return: {} });
  });
});
