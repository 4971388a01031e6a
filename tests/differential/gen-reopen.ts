/**
 * blockdev-reopen commands for the generator. Each entry starts from the node's full current option
 * set (tracked options, current children by reference), then gets at most one change: read-only,
 * a child moved to another node / null / a new inline dict, an option dropped or changed, or a
 * malformed entry.
 *
 * Three QEMU 7.2.22 crashes are made impossible by construction (never generate them):
 * - the list is never empty (`bdrv_reopen_multiple` asserts on an empty queue);
 * - a qcow2's file and backing are never set to the same node (abort after a filter reopen);
 * - child links change only on monitor-owned nodes, and in a multi-entry reopen only when no other
 *   entry names a node below the changed one (use-after-free segfaults in throttle/qcow2 reopens);
 * - a link never moves out of or into a subgraph that reaches one node through two edges
 *   (`bdrv_parent_drained_end_single_no_poll: Assertion 'c->parent_quiesce_counter > 0'`: seen with
 *   a qcow2 whose file is its backing, and with preallocate p1 over copy-before-write cbw0 reopened
 *   to `file: cbw4` where cbw4 has `file: cbw0/file, target: cbw0`).
 */
import { nodeRef, anyNodeRef, maybeZeroes } from "./gen-add.js";
import { CHILD_KEYS, CHILD_LIST_KEY, type GenState, type LiveView } from "./gen-state.js";
import { QCOW2_IMAGES, RAW_IMAGES } from "./gen-images.js";
import type { Prng } from "../../src/fuzz/prng.js";
import { qmp, type Json, type QmpStep } from "./steps.js";

type Dict = { [key: string]: Json };

const LINK_CHANGES = ["relink", "unlink", "inline"] as const;
type Change = "readOnly" | "same" | (typeof LINK_CHANGES)[number] | "drop" | "alter" | "omitChild" | "noName" | "unknownNode" | "childNull" | "badBacking";

function currentEntry(view: LiveView, state: GenState, name: string): Dict {
  const info = view.nodes.find((n) => n.name === name);
  const tracked = state.options.get(name);
  const e: Dict = tracked ? { ...tracked } : { driver: info?.drv ?? "raw" };
  if (!tracked && info?.drv === "file") e.filename = info.file;
  e["node-name"] = nodeRef(view, name);
  const listed: Json[] = [];
  for (const edge of view.graph.childEdges(name)) {
    if ((CHILD_KEYS as readonly string[]).includes(edge.name)) e[edge.name] = nodeRef(view, view.graph.node(edge.child)!.name);
    // quorum's children.N, by reference (a quorum cannot be reopened: QEMU refuses before it looks).
    if (edge.name.startsWith(`${CHILD_LIST_KEY}.`)) listed.push(nodeRef(view, view.graph.node(edge.child)!.name));
  }
  if (listed.length > 0) e[CHILD_LIST_KEY] = listed;
  if (e.driver === "qcow2" && e.backing === undefined) e.backing = null;
  return e;
}

function linkKey(e: Dict): string {
  return e.driver === "blkdebug" ? "image" : "file";
}

function same(a: Json | undefined, b: Json | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The node a child reference in an entry names (a name, or `{"$node": path}`), if it exists. */
function referenced(view: LiveView, ref: Json | undefined): string | undefined {
  if (typeof ref === "string") return view.graph.driverNode(ref)?.name;
  if (ref !== null && typeof ref === "object" && !Array.isArray(ref) && typeof ref.$node === "string") {
    try {
      return view.graph.resolve(ref.$node);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Whether moving a link from `from` to `to` touches a subgraph QEMU 7.2 miscounts drains on. */
function touchesDiamond(view: LiveView, from: Json | undefined, to: Json | undefined): boolean {
  return [from, to].some((ref) => {
    const n = referenced(view, ref);
    return n !== undefined && view.graph.hasDiamondBelow(n);
  });
}

const MOVES_LINK = new Set<Change>(["relink", "unlink", "inline", "childNull"]);

/** Apply one change to the entry for node `name`. */
function applyChange(rng: Prng, view: LiveView, state: GenState, name: string, e: Dict, change: Change): void {
  const isQcow2 = e.driver === "qcow2";
  // A link out of such a subgraph: leave the links alone (the entry stays valid, as if unchanged).
  if (MOVES_LINK.has(change) && (touchesDiamond(view, e[linkKey(e)], undefined) || touchesDiamond(view, e.backing, undefined))) return;
  switch (change) {
    case "readOnly": {
      const info = view.nodes.find((n) => n.name === name);
      e["read-only"] = !(info?.ro ?? false);
      return;
    }
    case "same":
      return;
    case "relink": {
      const key = isQcow2 && rng.chance(0.5) ? "backing" : linkKey(e);
      const other = key === "backing" ? e[linkKey(e)] : e.backing;
      const target = anyNodeRef(rng, view);
      if (target !== undefined && !same(target, other) && !touchesDiamond(view, undefined, target)) e[key] = target;
      return;
    }
    case "unlink":
      if (isQcow2) e.backing = null;
      return;
    case "inline":
      e[linkKey(e)] = rng.chance(0.3) ? { driver: "null-co" } : { driver: "file", filename: `$TEST_DIR/${rng.pick(isQcow2 ? QCOW2_IMAGES : RAW_IMAGES)}` };
      return;
    case "drop": {
      const keys = Object.keys(e).filter((k) => !["driver", "node-name", ...CHILD_KEYS].includes(k));
      if (keys.length > 0) delete e[rng.pick(keys)];
      return;
    }
    case "alter":
      alterOption(rng, state, e);
      return;
    case "omitChild":
      delete e[linkKey(e)];
      return;
    case "noName":
      delete e["node-name"];
      return;
    case "unknownNode":
      e["node-name"] = "nosuch";
      return;
    case "childNull":
      e[linkKey(e)] = null;
      return;
    case "badBacking":
      if (!isQcow2) e.backing = null;
      return;
  }
}

/** Change an option that may or may not be changeable by reopen. */
function alterOption(rng: Prng, state: GenState, e: Dict): void {
  if (rng.chance(0.15)) {
    maybeZeroes(rng, e, 0.7);
    return;
  }
  switch (e.driver) {
    case "file":
      if (rng.chance(0.4)) e.filename = `$TEST_DIR/${rng.pick([...RAW_IMAGES, ...QCOW2_IMAGES])}`;
      else if (rng.chance(0.5)) e.locking = rng.pick(["on", "off", "auto"]);
      else e.aio = "threads";
      return;
    case "raw":
      if (rng.chance(0.5)) e.offset = rng.pick([0, 512]);
      else e.size = rng.pick([4096, 8192]);
      return;
    case "throttle": {
      const groups = [...state.throttleGroups, "nosuch"];
      e["throttle-group"] = rng.pick(groups);
      return;
    }
    case "blkdebug":
      e[rng.pick(["take-child-perms", "unshare-child-perms"])] = rng.subset(["consistent-read", "write", "write-unchanged", "resize"], 0.4);
      return;
    default:
      if (rng.chance(0.5)) e.driver = rng.pick(["raw", "qcow2", "null-co", "file"]);
      else e["force-share"] = true;
  }
}

function singleChange(rng: Prng, owned: boolean): Change {
  const link = owned ? 1 : 0;
  return rng.weighted<Change>({
    readOnly: 8, same: 2, relink: 5 * link, unlink: 1.5 * link, inline: 1.5 * link,
    drop: 1, alter: 1.5, omitChild: 0.5, noName: 0.3, unknownNode: 0.3, childNull: 0.3, badBacking: 0.3,
  });
}

/** One node reopened, with one change. */
function singleReopen(rng: Prng, state: GenState, view: LiveView, name: string): QmpStep {
  const e = currentEntry(view, state, name);
  applyChange(rng, view, state, name, e, singleChange(rng, state.owned.has(name)));
  return qmp("blockdev-reopen", { options: [e] });
}

/** Two or three nodes in one transaction, mostly read-only flips, at most one safe link change. */
function multiReopen(rng: Prng, state: GenState, view: LiveView, names: string[]): QmpStep {
  const chosen = rng.chance(0.1) ? [rng.pick(names), rng.pick(names)] : pickDistinct(rng, names, rng.int(2, 3));
  const entries = chosen.map((n) => {
    const e = currentEntry(view, state, n);
    applyChange(rng, view, state, n, e, rng.chance(0.8) ? "readOnly" : "same");
    return e;
  });
  const i = rng.int(0, chosen.length - 1);
  const changer = chosen[i]!;
  const below = view.graph.descendants(changer);
  const othersBelow = chosen.some((n, j) => j !== i && (below.has(n) || n === changer));
  if (rng.chance(0.3) && state.owned.has(changer) && !othersBelow) applyChange(rng, view, state, changer, entries[i]!, rng.pick(LINK_CHANGES));
  return qmp("blockdev-reopen", { options: entries });
}

function pickDistinct(rng: Prng, names: string[], k: number): string[] {
  const pool = [...names];
  const out: string[] = [];
  while (out.length < k && pool.length > 0) out.push(pool.splice(rng.int(0, pool.length - 1), 1)[0]!);
  return out;
}

/** A blockdev-reopen with a non-empty list, or undefined when there is no node to reopen. */
export function reopenStep(rng: Prng, state: GenState, view: LiveView): QmpStep | undefined {
  const names = view.graph.referableNames();
  if (names.length === 0) return undefined;
  const owned = names.filter((n) => state.owned.has(n));
  if (names.length >= 2 && rng.chance(0.3)) return multiReopen(rng, state, view, names);
  const name = owned.length > 0 && rng.chance(0.7) ? rng.pick(owned) : rng.pick(names);
  return singleReopen(rng, state, view, name);
}
