/**
 * The io steps' guarantees, without QEMU: targets are live nodes (or the deliberate unknown one),
 * never above a driver whose I/O the model does not follow nor above a shape where QEMU's answer
 * is its uninitialised memory, and compressed writes stay within one
 * cluster (QEMU lays out a multi-cluster compressed write in a run-dependent order).
 */
import { describe, expect, it } from "vitest";
import { BlockGraph } from "./block-graph.js";
import { ioStep } from "./gen-io.js";
import type { LiveView } from "./gen-state.js";
import { Prng } from "../../src/fuzz/prng.js";

const view: LiveView = {
  graph: BlockGraph.from({
    nodes: [
      { id: 1, name: "z", type: "block-driver" },
      { id: 2, name: "q", type: "block-driver" },
      { id: 3, name: "qu", type: "block-driver" },
      { id: 4, name: "n", type: "block-driver" },
      { id: 5, name: "o", type: "block-driver" },
      { id: 6, name: "of", type: "block-driver" },
    ],
    edges: [
      { name: "file", parent: 1, child: 2, perm: [], "shared-perm": [] },
      { name: "children.0", parent: 3, child: 4, perm: [], "shared-perm": [] },
      { name: "file", parent: 5, child: 6, perm: [], "shared-perm": [] },
      { name: "backing", parent: 5, child: 4, perm: [], "shared-perm": [] },
    ],
  }),
  nodes: [
    { name: "z", drv: "compress", ro: false, file: "" },
    { name: "q", drv: "qcow2", ro: false, file: "" },
    { name: "qu", drv: "quorum", ro: false, file: "" },
    { name: "n", drv: "null-co", ro: false, file: "" },
    { name: "o", drv: "qcow2", ro: false, file: "" },
    { name: "of", drv: "file", ro: false, file: "" },
  ],
  jobs: [],
};

describe("io steps", () => {
  const rng = new Prng(7);
  const steps = Array.from({ length: 3000 }, () => ioStep(rng, view));

  it("name live nodes (or 'nosuch'), never one above a quorum or a qcow2 whose backing is null-co", () => {
    const targets = new Set(steps.map((s) => s.node));
    expect([...targets].sort()).toEqual(["n", "nosuch", "of", "q", "z"]);
  });

  it("keep writes through a compress filter, and compressed writes, to one whole cluster", () => {
    // Pattern writes (the deliberate mistakes aside: those never reach the data path).
    const write = /^(aio_)?write( -q)?( -c)? -P 0x[0-9a-f]+ (\d+) (\d+)$/;
    const writes = steps.filter((s) => write.test(s.command) && (s.node === "z" || s.command.includes("-c")));
    expect(writes.length).toBeGreaterThan(50);
    for (const w of writes) {
      const m = /(\d+) (\d+)$/.exec(w.command)!;
      expect(Number(m[1]) % 65536, w.command).toBe(0);
      expect(Number(m[2]), w.command).toBe(65536);
    }
  });

  it("are the same for the same seed", () => {
    const again = new Prng(7);
    expect(Array.from({ length: 3000 }, () => ioStep(again, view))).toEqual(steps);
  });
});
