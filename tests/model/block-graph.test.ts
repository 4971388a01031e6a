/** x-debug-query-block-graph and query-named-block-nodes ordering (§6, §8.1), as exact JSON. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { replaceAutoNames } from "../../src/graph-view/auto-name.js";
import { qemuJson } from "./support/qsd.js";
import { exportNode, Fixture } from "./support/fixture.js";

const normalize = (json: string): string => replaceAutoNames(json, () => "#block");

describe("block graph queries", () => {
  let f: Fixture;
  beforeEach(() => {
    f = new Fixture();
  });
  afterEach(() => f.dispose());

  it("§8.1: nodes and edges are the traversal reversed, perms descending, keys in QDict order", () => {
    f.ok("blockdev-add", { driver: "file", "node-name": "f0", filename: "raw.img" });
    f.ok("blockdev-add", { driver: "raw", "node-name": "r0", file: "f0" });
    f.ok("blockdev-add", { driver: "qcow2", "node-name": "q0", file: { driver: "file", filename: "top.qcow2" } });
    expect(normalize(qemuJson(f.model.execute("x-debug-query-block-graph")))).toBe(
      normalize(
        '{"return": {"edges": [' +
          '{"name": "file", "parent": 5, "shared-perm": ["write-unchanged", "consistent-read"], "perm": ["consistent-read"], "child": 6}, ' +
          '{"name": "file", "parent": 4, "shared-perm": ["write-unchanged", "consistent-read"], "perm": ["resize", "write", "consistent-read"], "child": 3}, ' +
          '{"name": "backing", "parent": 4, "shared-perm": ["resize", "write-unchanged", "write", "consistent-read"], "perm": [], "child": 5}, ' +
          '{"name": "file", "parent": 2, "shared-perm": ["resize", "write-unchanged", "write", "consistent-read"], "perm": [], "child": 1}], ' +
          '"nodes": [{"name": "#block213", "type": "block-driver", "id": 5}, {"name": "#block199", "type": "block-driver", "id": 6}, ' +
          '{"name": "q0", "type": "block-driver", "id": 4}, {"name": "#block064", "type": "block-driver", "id": 3}, ' +
          '{"name": "r0", "type": "block-driver", "id": 2}, {"name": "f0", "type": "block-driver", "id": 1}]}}',
      ),
    );
  });

  it("BlockBackends come first in the traversal, so last in the output", () => {
    f.ok("blockdev-add", { driver: "null-co", "node-name": "n0" });
    f.ok("blockdev-add", { driver: "null-co", "node-name": "n1" });
    expect(exportNode(f, "e0", "n1", true)).toBe("ok");
    expect(exportNode(f, "e1", "n0", false)).toBe("ok");
    const g = f.graph();
    expect(g.nodes).toEqual([
      { name: "n1", type: "block-driver", id: 2 },
      { name: "n0", type: "block-driver", id: 4 },
      { name: "", type: "block-backend", id: 3 },
      { name: "", type: "block-backend", id: 1 },
    ]);
    expect(g.edges.map((e) => [e.parent, e.child, e.perm])).toEqual([
      [3, 4, ["consistent-read"]],
      [1, 2, ["write", "consistent-read"]],
    ]);
  });

  it("query-named-block-nodes lists the newest node first; a re-added name goes to the front", () => {
    f.ok("blockdev-add", { driver: "null-co", "node-name": "a" });
    f.ok("blockdev-add", { driver: "null-co", "node-name": "b" });
    f.ok("blockdev-del", { "node-name": "a" });
    f.ok("blockdev-add", { driver: "null-co", "node-name": "a" });
    expect(f.names()).toEqual(["a", "b"]);
  });

  it("without flat, the image nests the backing chain and counts its depth", () => {
    f.ok("blockdev-add", { driver: "qcow2", "node-name": "q0", file: { driver: "file", filename: "top.qcow2" } });
    const info = (flat: boolean) =>
      (f.ok("query-named-block-nodes", { flat }) as Array<Record<string, unknown>>).find((n) => n["node-name"] === "q0")!;
    expect(info(false)["backing_file_depth"]).toBe(1);
    expect((info(false)["image"] as Record<string, unknown>)["backing-image"]).toMatchObject({ filename: "base.qcow2", format: "qcow2" });
    expect(info(true)["backing_file_depth"]).toBe(0);
    expect(info(true)).toMatchObject({ backing_file: "base.qcow2", drv: "qcow2", ro: false, file: "top.qcow2" });
  });
});
