/**
 * The generator's guarantees, checked without QEMU on a fixed graph: same seed, same commands; and
 * never a command pattern that crashes QEMU 7.2.22 (an empty reopen list, a qcow2 whose file and
 * backing are one node, a link change on a node the monitor does not own).
 */
import { describe, expect, it } from "vitest";
import { BlockGraph } from "./block-graph.js";
import type { LiveView } from "./gen-state.js";
import { SequenceGenerator } from "./generator.js";
import type { IoStep, Json, QmpStep } from "./steps.js";

// q0 (owned after the add below) over an inline file, with an implicit backing from the header.
const view: LiveView = {
  graph: BlockGraph.from({
    nodes: [
      { id: 1, name: "q0", type: "block-driver" },
      { id: 2, name: "#block010", type: "block-driver" },
      { id: 3, name: "#block020", type: "block-driver" },
      { id: 4, name: "#block030", type: "block-driver" },
      { id: 5, name: "n0", type: "block-driver" },
    ],
    edges: [
      { name: "file", parent: 1, child: 2, perm: [], "shared-perm": [] },
      { name: "backing", parent: 1, child: 3, perm: [], "shared-perm": [] },
      { name: "file", parent: 3, child: 4, perm: [], "shared-perm": [] },
    ],
  }),
  nodes: [
    { name: "q0", drv: "qcow2", ro: false, file: "$TEST_DIR/top.qcow2" },
    { name: "#block010", drv: "file", ro: false, file: "$TEST_DIR/top.qcow2" },
    { name: "#block020", drv: "qcow2", ro: true, file: "$TEST_DIR/base.qcow2" },
    { name: "#block030", drv: "file", ro: true, file: "$TEST_DIR/base.qcow2" },
    { name: "n0", drv: "null-co", ro: false, file: "null-co://" },
  ],
  jobs: [],
};

function generator(seed: number): SequenceGenerator {
  const gen = new SequenceGenerator(seed);
  for (const name of ["q0", "n0"]) {
    const args: { [key: string]: Json } = name === "q0" ? { driver: "qcow2", "node-name": "q0", file: { driver: "file", filename: "$TEST_DIR/top.qcow2" } } : { driver: "null-co", "node-name": "n0" };
    gen.observe({ kind: "qmp", execute: "blockdev-add", arguments: args, reply: { return: {} }, events: [] }, view);
  }
  return gen;
}

function steps(seed: number, count: number): Array<QmpStep | IoStep> {
  const gen = generator(seed);
  return Array.from({ length: count }, () => gen.next(view));
}

const isOwnedRef = (v: Json | undefined) => v === "q0" || v === "n0";

describe("SequenceGenerator", () => {
  it("is deterministic for a seed, and seeds differ", () => {
    expect(steps(42, 50)).toEqual(steps(42, 50));
    expect(steps(42, 50)).not.toEqual(steps(43, 50));
  });

  it("never generates the reopen and qcow2 patterns that crash QEMU 7.2.22", () => {
    const current: Record<string, { file?: Json; backing?: Json }> = {
      q0: { file: { $node: "q0/file" }, backing: { $node: "q0/backing" } },
      "q0/backing": { file: { $node: "q0/backing/file" }, backing: null },
    };
    let reopens = 0;
    for (let seed = 0; seed < 300; seed++) {
      for (const s of steps(seed, 40)) {
        if (s.kind !== "qmp") continue;
        const args = s.arguments ?? {};
        if (s.execute === "blockdev-add" && args.driver === "qcow2" && args.backing !== undefined) {
          expect(JSON.stringify(args.backing)).not.toBe(JSON.stringify(args.file));
        }
        if (s.execute !== "blockdev-reopen") continue;
        reopens++;
        const entries = args.options as Array<Record<string, Json>>;
        expect(entries.length).toBeGreaterThan(0);
        for (const e of entries) {
          if (e.driver === "qcow2" && e.file !== undefined && e.backing !== null) expect(JSON.stringify(e.backing)).not.toBe(JSON.stringify(e.file));
          const name = e["node-name"];
          if (name === undefined) continue; // rejected before any reopen logic
          const key = typeof name === "string" ? name : JSON.stringify(name).replace(/^\{"\$node":"(.*)"\}$/, "$1");
          const was = current[key];
          const linkChanged = was !== undefined && e.driver === "qcow2" && (JSON.stringify(e.file) !== JSON.stringify(was.file) || JSON.stringify(e.backing) !== JSON.stringify(was.backing));
          // `file: null` is rejected by QAPI before reopen logic runs, so it is not a link change.
          if (linkChanged && e.file !== undefined && e.file !== null) expect(isOwnedRef(name), JSON.stringify(s)).toBe(true);
        }
      }
    }
    expect(reopens).toBeGreaterThan(500);
  });
});
