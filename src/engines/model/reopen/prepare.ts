/**
 * `bdrv_reopen_prepare` for one queue entry, with QEMU 7.2's check order: generic options, driver
 * support, option resets, the driver's own prepare, "backing is missing", the backing then file
 * change (cycle and implicit-child rules, graph change inside the transaction), and finally "every
 * other option must be unchanged".
 */
import { type BdsNode, childNamed, reaches } from "../graph.js";
import type { Flat } from "../graph.js";
import { attachEdge, removeEdge, unreferenced, freeNode } from "../graph-ops.js";
import type { LayerState } from "../layer-state.js";
import { checkDetectZeroes } from "../options.js";
import { qdictKeyOrder } from "../qdict-order.js";
import { fail } from "../qmp-failure.js";
import { ROLE_COW, ROLE_FILTERED, ROLE_PRIMARY } from "../roles.js";
import type { Transaction } from "../transaction.js";
import type { ReopenEntry } from "./queue.js";

/** Options any node may leave out on reopen (`bdrv_reset_options_allowed`). */
const COMMON_RESETTABLE = ["node-name", "discard", "cache.direct", "cache.no-flush", "read-only", "auto-read-only", "detect-zeroes"];

/** bdrv_runtime_opts consumed by the generic part of prepare. */
const GENERIC_CONSUMED = ["read-only", "auto-read-only", "cache.direct", "cache.no-flush", "discard", "detect-zeroes"];

/** bdrv_runtime_opts put back as QemuOpts strings, so they are compared as strings. */
const GENERIC_PUT_BACK = ["node-name", "driver", "force-share"];

/** file-posix runtime options its reopen puts back as strings (the rest of raw_runtime_opts is consumed). */
const FILE_PUT_BACK = ["filename", "aio", "aio-max-batch", "locking", "pr-manager"];

/** How QemuOpts prints a value it absorbed from a QDict. */
function qemuOptString(v: unknown): unknown {
  if (typeof v === "boolean") return v ? "on" : "off";
  if (typeof v === "number") return String(v);
  return v;
}

function restringify(opts: Flat, keys: readonly string[]): void {
  for (const k of keys) if (k in opts) opts[k] = qemuOptString(opts[k]);
}

export function prepareEntry(state: LayerState, entry: ReopenEntry, tran: Transaction): void {
  const bs = entry.bs;
  const drv = bs.driver;
  const opts: Flat = { ...entry.options };
  for (const k of GENERIC_CONSUMED) delete opts[k];
  restringify(opts, GENERIC_PUT_BACK);

  checkDetectZeroes(entry.options, entry.unmap);
  if (!drv.supportsReopen) {
    fail(`Block format '${drv.name}' used by node '${bs.name}' does not support reopening files`);
  }
  for (const key of qdictKeyOrder(Object.keys(bs.options))) {
    if (!(key in opts) && !COMMON_RESETTABLE.includes(key) && !drv.mutableOpts.includes(key)) {
      fail(`Option '${key}' cannot be reset to its default value`);
    }
  }
  if (drv.reopenPrepare) {
    entry.driverCommit = drv.reopenPrepare(bs, opts, { hasThrottleGroup: (id) => state.throttleGroups.has(id) });
  }
  for (const k of drv.reopenOpts) delete opts[k];
  if (drv.name === "file") restringify(opts, FILE_PUT_BACK);

  if (drv.supportsBacking && entry.backingMissing && (childNamed(bs, "backing") || bs.backingFile !== "")) {
    fail(`backing is missing for '${bs.name}'`);
  }
  changeChild(state, entry, opts, true, tran);
  delete opts["backing"];
  changeChild(state, entry, opts, false, tran);
  delete opts["file"];

  for (const key of qdictKeyOrder(Object.keys(opts))) {
    const value = opts[key];
    if (typeof value === "string") {
      const child = childNamed(bs, key);
      if (child && child.bs.name === value) continue;
    }
    if (value !== bs.options[key]) fail(`Cannot change the option '${key}'`);
  }
}

/** Whether `child` was created (transitively) by `parent` (`bdrv_inherits_from_recursive`). */
function inheritsFromRecursive(child: BdsNode | null, parent: BdsNode): boolean {
  let n = child;
  while (n && n !== parent) n = n.inheritsFrom;
  return n !== null;
}

/** `bdrv_reopen_parse_file_or_backing` + `bdrv_set_file_or_backing_noperm`. */
function changeChild(state: LayerState, entry: ReopenEntry, opts: Flat, isBacking: boolean, tran: Transaction): void {
  const bs = entry.bs;
  const key = isBacking ? "backing" : "file";
  if (!(key in opts)) return;
  const value = opts[key];
  const oldChild = childNamed(bs, key);
  const oldBs = oldChild?.bs ?? null;
  let newBs: BdsNode | null = null;
  if (value !== null) {
    const name = String(value);
    newBs = state.nodes.get(name) ?? fail(`Cannot find device='' nor node-name='${name}'`);
    // No cycle can exist yet, so the (deep) walk is only needed when the child really changes.
    if (newBs !== oldBs && reaches(newBs, bs)) fail(`Making '${name}' a ${key} child of '${bs.name}' would create a cycle`);
  }
  if (oldBs === newBs) return;
  if (oldBs?.implicit) fail(`Cannot replace implicit ${key} child of ${bs.name}`);
  if (isBacking) entry.oldBacking = oldBs;
  else entry.oldFile = oldBs;

  const drv = bs.driver;
  if (isBacking && !drv.isFilter && !drv.supportsBacking) {
    fail(`Driver '${drv.name}' of node '${bs.name}' does not support backing files`);
  }
  let role: number;
  if (drv.isFilter) role = ROLE_FILTERED | ROLE_PRIMARY;
  else if (isBacking) role = ROLE_COW;
  else if (oldChild) role = oldChild.role;
  else fail("Cannot set file child to format node without file child");
  const updateInheritsFrom = newBs !== null && inheritsFromRecursive(newBs, bs);
  if (oldChild && oldBs) {
    unsetInheritsFrom(bs, oldBs, oldChild, tran);
    removeEdge(oldChild, tran);
    // The edge's reference goes at commit: a subtree nobody else holds is freed then.
    tran.addCommit(() => {
      if (!oldBs.freed && unreferenced(oldBs)) freeNode(state, oldBs);
    });
  }
  if (newBs) {
    attachEdge({ kind: "node", node: bs }, newBs, key, role, tran);
    if (updateInheritsFrom) setInheritsFrom(newBs, bs, tran);
  }
}

function setInheritsFrom(child: BdsNode, parent: BdsNode | null, tran: Transaction): void {
  const old = child.inheritsFrom;
  child.inheritsFrom = parent;
  tran.addUndo(() => {
    child.inheritsFrom = old;
  });
}

/** `bdrv_unset_inherits_from`: only when no other edge from `root` reaches the child. */
function unsetInheritsFrom(root: BdsNode, childBs: BdsNode, edge: { bs: BdsNode }, tran: Transaction): void {
  if (childBs.inheritsFrom !== root) return;
  for (const c of root.children) if (c !== edge && c.bs === childBs) return;
  setInheritsFrom(childBs, null, tran);
}
