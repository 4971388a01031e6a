/**
 * The incremental permission refresh (perm-refresh.ts visits only the nodes whose inputs can change)
 * against a reference that walks the whole topological order as QEMU does: on random graphs and
 * random changes (new parents, new and removed edges, changed export perms, reopen flags) both must
 * succeed or fail alike, with the same message, leaving the same edge perms and lock bytes.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockdevAdd } from "../../src/engines/model/commands/blockdev-add.js";
import { blockExportAdd, nbdServerStart } from "../../src/engines/model/commands/exports.js";
import { objectAdd } from "../../src/engines/model/commands/objects.js";
import { ModelIoUnsupportedError } from "../../src/engines/model/data/io-error.js";
import { type BdsNode, type Child, reaches } from "../../src/engines/model/graph.js";
import { attachEdge, removeEdge } from "../../src/engines/model/graph-ops.js";
import { writeImage } from "../../src/engines/model/images/write-image.js";
import { LayerState } from "../../src/engines/model/layer-state.js";
import { refreshPerms, setChildPerm } from "../../src/engines/model/perm-refresh.js";
import { QAPI_PERM_NAMES } from "../../src/engines/model/perms.js";
import { QmpFailure } from "../../src/engines/model/qmp-failure.js";
import {
  BDRV_CHILD_COW,
  BDRV_CHILD_DATA,
  BDRV_CHILD_FILTERED,
  BDRV_CHILD_IMAGE,
  BDRV_CHILD_METADATA,
  BDRV_CHILD_PRIMARY,
} from "../../src/engines/model/roles.js";
import { Transaction } from "../../src/engines/model/transaction.js";
import { referenceRefreshPerms } from "./support/reference-refresh.js";

const IMAGES = ["a.img", "b.img", "base.qcow2", "top.qcow2"];
const KINDS = ["null-co", "file", "raw", "raw-window", "blkdebug", "copy-on-read", "preallocate", "throttle", "qcow2"] as const;
const EDGE_ROLES = [BDRV_CHILD_IMAGE, BDRV_CHILD_COW, BDRV_CHILD_DATA, BDRV_CHILD_METADATA, BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY];

const perm4 = fc.nat({ max: 15 });
const nodeSpec = fc.record({
  kind: fc.constantFrom(...KINDS),
  child: fc.nat(),
  backing: fc.option(fc.nat(), { nil: undefined }),
  image: fc.nat({ max: IMAGES.length - 1 }),
  readOnly: fc.boolean(),
  forceShare: fc.boolean(),
  locking: fc.boolean(),
  take: perm4,
  unshare: perm4,
  align: fc.boolean(),
  oddSize: fc.boolean(),
});
const exportSpec = fc.record({ node: fc.nat(), writable: fc.boolean() });
const edit = fc.oneof(
  fc.record({ kind: fc.constant("bb" as const), node: fc.nat(), perm: perm4, shared: perm4 }),
  fc.record({ kind: fc.constant("export-perms" as const), index: fc.nat(), perm: perm4, shared: perm4 }),
  fc.record({ kind: fc.constant("attach" as const), parent: fc.nat(), child: fc.nat(), role: fc.nat({ max: EDGE_ROLES.length - 1 }) }),
  fc.record({ kind: fc.constant("remove" as const), edge: fc.nat() }),
  fc.record({ kind: fc.constant("reopen" as const), node: fc.nat(), readOnly: fc.boolean() }),
);
const scenario = fc.record({
  nodes: fc.array(nodeSpec, { minLength: 2, maxLength: 12 }),
  exports: fc.array(exportSpec, { maxLength: 4 }),
  edits: fc.array(edit, { minLength: 1, maxLength: 4 }),
});

type NodeSpec = typeof nodeSpec extends fc.Arbitrary<infer T> ? T : never;
type Edit = typeof edit extends fc.Arbitrary<infer T> ? T : never;

const permList = (bits: number): string[] => QAPI_PERM_NAMES.filter((_, i) => bits & (1 << i));

/** blockdev-add arguments for one spec over the nodes added so far (or undefined when it needs a child and there is none). */
function addArgs(spec: NodeSpec, name: string, names: readonly string[]): Record<string, unknown> | undefined {
  const child = names.length > 0 ? names[spec.child % names.length] : undefined;
  const common = { "node-name": name, "read-only": spec.readOnly, "force-share": spec.forceShare && spec.readOnly };
  switch (spec.kind) {
    case "null-co":
      return { driver: "null-co", ...common, ...(spec.oddSize ? { size: 1000 } : {}) };
    case "file":
      return { driver: "file", ...common, filename: IMAGES[spec.image], locking: spec.locking ? "on" : "off" };
    default:
      if (child === undefined) return undefined;
  }
  switch (spec.kind) {
    case "raw":
      return { driver: "raw", ...common, file: child };
    case "raw-window":
      return { driver: "raw", ...common, file: child, offset: 0, size: 512 };
    case "blkdebug":
      return {
        driver: "blkdebug",
        ...common,
        image: child,
        "take-child-perms": permList(spec.take),
        "unshare-child-perms": permList(spec.unshare),
        ...(spec.align ? { align: 4096 } : {}),
      };
    case "throttle":
      return { driver: "throttle", ...common, file: child, "throttle-group": "tg" };
    case "qcow2": {
      const backing = spec.backing === undefined ? null : names[spec.backing % names.length];
      return { driver: "qcow2", ...common, file: child, backing };
    }
    default:
      return { driver: spec.kind, ...common, file: child };
  }
}

/**
 * Run a command handler; a QmpFailure (the add or export was refused) is fine, and so is the model's
 * refusal to answer (qcow2 reading its header through copy-on-read over null-co: QEMU reads an
 * uninitialised buffer), which rolls the add back as a failure does.
 */
function attempt(run: () => unknown): void {
  try {
    run();
  } catch (e) {
    if (!(e instanceof QmpFailure) && !(e instanceof ModelIoUnsupportedError)) throw e;
  }
}

/** Every node's parent edges with their perms, and each image's lock bytes: what a refresh may change. */
function snapshot(state: LayerState): string[] {
  const out: string[] = [];
  for (const node of state.nodes.values()) {
    const parents = node.parents.map((c) => `${c.parent.kind === "node" ? c.parent.node.name : "BB"}-${c.name}:${c.perm}/${c.shared}`);
    out.push(`${node.name} <- ${parents.join(" ")}`);
  }
  for (const [path, table] of state.fileLocks) {
    const { held, unshared } = table.others([0, 0]);
    // Tables appear on first use; an empty one says nothing.
    if (held || unshared) out.push(`${path} held=${held} unshared=${unshared}`);
  }
  return out;
}

interface Planned {
  starts: BdsNode[];
  flags: Map<BdsNode, boolean>;
  /** An edge is removed: its abort puts it back at the head of the lists, so the order changes. */
  reorders: boolean;
  apply(tran: Transaction): void;
}

/** Turn the random edits into changes on this graph and the starts QEMU would refresh from. */
function plan(state: LayerState, edits: readonly Edit[]): Planned {
  const nodes = [...state.nodes.values()];
  const edges: Child[] = nodes.flatMap((n) => n.children);
  const exportRoots = [...state.exports.values()].map((e) => e.bb.root!).filter(Boolean);
  const starts: BdsNode[] = [];
  const flags = new Map<BdsNode, boolean>();
  const steps: Array<(tran: Transaction) => void> = [];
  const removed = new Set<Child>();
  for (const e of nodes.length > 0 ? edits : []) {
    if (e.kind === "bb") {
      const node = nodes[e.node % nodes.length]!;
      steps.push((tran) => {
        attachEdge({ kind: "bb", bb: { serial: -1, root: null } }, node, "root", BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY, tran, { perm: e.perm, shared: e.shared });
      });
      starts.push(node);
    } else if (e.kind === "export-perms" && exportRoots.length > 0) {
      const root = exportRoots[e.index % exportRoots.length]!;
      steps.push((tran) => setChildPerm(root, e.perm, e.shared, tran));
      starts.push(root.bs);
    } else if (e.kind === "attach") {
      const parent = nodes[e.parent % nodes.length]!;
      const child = nodes[e.child % nodes.length]!;
      // Only drivers with child rules take children, and the graph stays acyclic.
      if (!parent.driver.childPerm || reaches(child, parent)) continue;
      steps.push((tran) => void attachEdge({ kind: "node", node: parent }, child, "extra", EDGE_ROLES[e.role]!, tran));
      starts.push(parent);
    } else if (e.kind === "remove" && edges.length > 0) {
      const c = edges[e.edge % edges.length]!;
      if (removed.has(c)) continue;
      removed.add(c);
      steps.push((tran) => removeEdge(c, tran));
      // As a reopen that replaces a child: the parent, then the old child.
      if (c.parent.kind === "node") starts.push(c.parent.node);
      starts.push(c.bs);
    } else if (e.kind === "reopen") {
      const node = nodes[e.node % nodes.length]!;
      flags.set(node, e.readOnly);
      starts.push(node);
    }
  }
  return { starts, flags, reorders: removed.size > 0, apply: (tran) => steps.forEach((s) => s(tran)) };
}

/** A model with the graph the specs describe: nodes added one by one, then exports (refused ones left out). */
function build(dir: string, nodes: readonly NodeSpec[], exports: ReadonlyArray<{ node: number; writable: boolean }>): LayerState {
  const state = new LayerState(dir);
  objectAdd(state, { "qom-type": "throttle-group", id: "tg" });
  nbdServerStart(state, {});
  const names: string[] = [];
  nodes.forEach((spec, i) => {
    const args = addArgs(spec, `n${i}`, names);
    if (!args) return;
    attempt(() => blockdevAdd(state, args));
    if (state.nodes.has(`n${i}`)) names.push(`n${i}`);
  });
  if (names.length > 0) {
    exports.forEach((x, i) => attempt(() => blockExportAdd(state, { type: "nbd", id: `e${i}`, "node-name": names[x.node % names.length], writable: x.writable })));
  }
  return state;
}

type Refresh = typeof refreshPerms;

/** Apply the changes and refresh in a transaction; record the outcome and state, then abort. */
function run(state: LayerState, planned: Planned, refresh: Refresh): { outcome: string; after: string[] } {
  const tran = new Transaction();
  let outcome = "ok";
  try {
    planned.apply(tran);
    refresh(state, planned.starts, tran, planned.flags.size > 0 ? planned.flags : undefined);
  } catch (e) {
    if (!(e instanceof QmpFailure)) throw e;
    outcome = e.message;
  }
  const after = snapshot(state);
  tran.finalize(new Error("undo the trial"));
  return { outcome, after };
}

describe("incremental permission refresh against QEMU's full walk", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "blockcheck-refresh-"));
    writeImage(join(dir, "a.img"), { path: "a.img", format: "raw", size: 1 << 20 });
    writeFileSync(join(dir, "b.img"), Buffer.alloc(1000));
    writeImage(join(dir, "base.qcow2"), { path: "base.qcow2", format: "qcow2", size: 1 << 20 });
    writeImage(join(dir, "top.qcow2"), { path: "top.qcow2", format: "qcow2", size: 1 << 20 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("agrees on random graphs and changes", () => {
    let compared = 0;
    let failures = 0;
    fc.assert(
      fc.property(scenario, ({ nodes, exports, edits }) => {
        // The same graph twice (names and auto names are deterministic): one per refresh.
        const [a, b] = [build(dir, nodes, exports), build(dir, nodes, exports)];
        const [planA, planB] = [plan(a, edits), plan(b, edits)];
        if (planA.starts.length === 0) return;
        const before = snapshot(a);
        const incremental = run(a, planA, refreshPerms);
        const reference = run(b, planB, referenceRefreshPerms);
        expect(incremental).toEqual(reference);
        if (!planA.reorders) expect(snapshot(a), "abort restores the graph").toEqual(before);
        compared++;
        if (reference.outcome !== "ok") failures++;
      }),
      { numRuns: 600, seed: 0x10ad },
    );
    // Both kinds of outcome were exercised, not just one.
    expect(compared).toBeGreaterThan(300);
    expect(failures).toBeGreaterThan(50);
    expect(compared - failures).toBeGreaterThan(50);
  });
});
