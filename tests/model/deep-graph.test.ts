/**
 * Deep graphs: every walk (topological sort, dirty-node search, cycle check, freeing, queries) uses
 * explicit stacks, so a 10,000-deep chain neither overflows the stack nor turns quadratic.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { exportNode, Fixture } from "./support/fixture.js";

const DEPTH = 10_000;

/**
 * Node i of the chain: r1 a raw node (whose file a reopen may change), the rest blkdebug filters.
 * Their length is fixed at open: on a chain of variable-length nodes (raw), every open and every
 * length query walks to the bottom, in QEMU as in the model, which makes building the chain
 * quadratic.
 */
function link(i: number): Record<string, unknown> {
  return i === 1 ? { driver: "raw", "node-name": "r1", file: "r0" } : { driver: "blkdebug", "node-name": `r${i}`, image: `r${i - 1}` };
}

describe("a 10,000-deep chain", () => {
  let f: Fixture;
  beforeEach(() => {
    f = new Fixture();
    f.ok("blockdev-add", { driver: "null-co", "node-name": "r0" });
    for (let i = 1; i < DEPTH; i++) f.ok("blockdev-add", link(i));
  });
  afterEach(() => f.dispose());

  it("passes a writer's perms all the way down, and a reopen at the bottom sees them", () => {
    const top = `r${DEPTH - 1}`;
    expect(exportNode(f, "e0", top, true)).toBe("ok");
    expect(f.edge("r1", "file")).toBe("perm=write,consistent-read shared=write-unchanged,write,consistent-read");
    expect(f.reopen({ driver: "null-co", "node-name": "r0", "read-only": true })).toBe(
      "Read-only block node 'r0' cannot support read-write users",
    );
    expect(f.reopen({ driver: "raw", "node-name": "r1", file: top })).toBe(`Making '${top}' a file child of 'r1' would create a cycle`);
    f.ok("block-export-del", { id: "e0" });
    expect(f.edge("r1", "file")).toBe("perm= shared=resize,write-unchanged,write,consistent-read");
    expect(f.reopen({ driver: "null-co", "node-name": "r0", "read-only": true })).toBe("ok");
  });

  it("reopens thousands of nodes in one transaction and lists them all", () => {
    const options = [];
    for (let i = 1; i < DEPTH; i += 4) options.push({ ...link(i), "read-only": true });
    expect(f.reopen(...options)).toBe("ok");
    const nodes = f.ok("query-named-block-nodes", { flat: true }) as Array<{ "node-name": string; ro: boolean }>;
    expect(nodes).toHaveLength(DEPTH);
    expect(nodes.filter((n) => n.ro)).toHaveLength(options.length);
    expect(f.graph().edges).toHaveLength(DEPTH - 1);
  });
});
