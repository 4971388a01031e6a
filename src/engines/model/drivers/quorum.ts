/**
 * `quorum` (block/quorum.c): a node over `children.N`, each a data child, that votes on reads.
 * It cannot be reopened (no `.bdrv_reopen_prepare`); children come and go with x-blockdev-change.
 * Its data path (the vote, its events) is data/quorum-io.ts.
 */
import { quorumBlockStatus, quorumFlush, quorumPreadv, quorumPwritev } from "../data/quorum-io.js";
import { BDRV_REQ_ZERO_WRITE } from "../data/request-flags.js";
import { sameFileBytes } from "../data/same-file-bytes.js";
import { Data } from "../data/data.js";
import type { HostFiles } from "../data/host-file.js";
import type { Child } from "../graph.js";
import { nodeLength } from "../node-length.js";
import { OpaqueSlot } from "../opaque.js";
import { BLK_PERM_ALL, BLK_PERM_CONSISTENT_READ, BLK_PERM_RESIZE, BLK_PERM_WRITE, BLK_PERM_WRITE_UNCHANGED } from "../perms.js";
import { fail } from "../qmp-failure.js";
import { BDRV_CHILD_DATA } from "../roles.js";
import type { DriverDef } from "./driver.js";
import { absorbQemuOpts } from "./qemu-opts.js";
import { hostFileAtZero } from "./underlying.js";

/** BDRVQuorumState, the part the model keeps. */
interface QuorumState {
  /** s->children, in order (x-blockdev-change appends and removes). */
  children: Child[];
  threshold: number;
  isBlkverify: boolean;
  rewriteCorrupted: boolean;
  readPattern: "quorum" | "fifo";
  /** s->next_child_index: the N of the next `children.N` x-blockdev-change adds. */
  nextChildIndex: number;
  /** The engine's host files, where readAtZero compares the children's files. */
  files: HostFiles;
}

const slot = new OpaqueSlot<QuorumState>("quorum");

/**
 * DEFAULT_PERM_PASSTHROUGH and DEFAULT_PERM_UNCHANGED (include/block/block-common.h). Since
 * BLK_PERM_GRAPH_MOD went, BLK_PERM_ALL is the passthrough set and nothing is left unchanged: a
 * parent that unshares consistent-read takes it from quorum's children too.
 */
const PERM_PASSTHROUGH = BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE | BLK_PERM_WRITE_UNCHANGED | BLK_PERM_RESIZE;
const PERM_UNCHANGED = BLK_PERM_ALL & ~PERM_PASSTHROUGH;

/** qdict_array_entries(options, "children."): how many of children.0, children.1, … there are. */
function arrayEntries(options: Readonly<Record<string, unknown>>, prefix: string): number {
  let n = 0;
  while (`${prefix}${n}` in options || Object.keys(options).some((k) => k.startsWith(`${prefix}${n}.`))) n++;
  return n;
}

/** `quorum_valid_threshold`. */
function checkThreshold(threshold: number, children: number): void {
  if (threshold < 1) fail("Parameter 'vote-threshold' expects a value >= 1");
  if (threshold > children) fail("threshold may not exceed children count");
}

export const quorumDriver: DriverDef = {
  name: "quorum",

  /** `quorum_co_flush`. */
  flush(host, node) {
    quorumFlush(host, slot.get(node));
  },
  protocol: false,
  isFilter: false,
  supportsBacking: false,
  /**
   * `quorum_recurse_can_replace`: one of its own children, and only where that child is the node's
   * one parent (a replacement shows what the quorum shows, not what the child did, which another
   * parent might care about). Its children's chains are not looked into.
   */
  recurseCanReplace(node, toReplace) {
    const child = slot.get(node).children.find((c) => c.bs === toReplace);
    return child !== undefined && toReplace.parents.length === 1 && toReplace.parents[0] === child;
  },
  mutableOpts: [],
  strongOpts: ["vote-threshold", "blkverify", "rewrite-corrupted", "read-pattern"],

  /** `quorum_open`: the options are checked before any child is opened. */
  open(ctx) {
    const options = { ...ctx.options };
    const count = arrayEntries(options, "children.");
    if (count < 1) fail("Number of provided children must be 1 or more");
    const opts = absorbQemuOpts(options, { "vote-threshold": "number", blkverify: "bool", "rewrite-corrupted": "bool", "read-pattern": "string" });
    // s->threshold is an int: the uint64 QemuOpts parsed is truncated to 32 bits.
    const threshold = Number(BigInt.asIntN(32, opts.uint("vote-threshold", 0n)));
    checkThreshold(threshold, count);
    const pattern = opts.str("read-pattern") ?? "quorum";
    if (pattern !== "quorum" && pattern !== "fifo") fail("Please set read-pattern as fifo or quorum");
    let isBlkverify = false;
    let rewriteCorrupted = false;
    if (pattern === "quorum") {
      isBlkverify = opts.bool("blkverify", false);
      if (isBlkverify && (count !== 2 || threshold !== 2)) {
        fail("blkverify=on can only be set if there are exactly two files and vote-threshold is 2");
      }
      rewriteCorrupted = opts.bool("rewrite-corrupted", false);
      if (rewriteCorrupted && isBlkverify) fail("rewrite-corrupted=on cannot be used with blkverify=on");
    }
    const state: QuorumState = { children: [], threshold, isBlkverify, rewriteCorrupted, readPattern: pattern, nextChildIndex: count, files: ctx.host.hostFiles };
    slot.set(ctx.node, state);
    for (let i = 0; i < count; i++) state.children.push(ctx.openChild(`children.${i}`, BDRV_CHILD_DATA, false)!);
    // bdrv_open_driver → bdrv_refresh_total_sectors → quorum_getlength: every child the same length.
    const lengths = state.children.map((c) => nodeLength(c.bs));
    if (lengths.some((l) => l !== lengths[0])) fail("Could not refresh total sector count: Input/output error");
    ctx.node.size = lengths[0]!;
  },

  /** `quorum_child_perm`: no sharing of write or resize, which would make the children differ. */
  childPerm({ node, P, S }) {
    let perm = P & PERM_PASSTHROUGH;
    if (slot.get(node).rewriteCorrupted) perm |= BLK_PERM_WRITE;
    return [perm, (S & (BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED)) | PERM_UNCHANGED];
  },

  /** `quorum_co_preadv`. */
  preadv(host, node, offset, bytes, flags) {
    return quorumPreadv(host, node, slot.get(node), offset, bytes, flags);
  },

  /** `quorum_co_pwritev`. */
  pwritev(host, node, offset, data, flags) {
    quorumPwritev(host, node, slot.get(node), offset, data, flags);
  },

  /** `quorum_co_pwrite_zeroes`: a write to every child with BDRV_REQ_ZERO_WRITE. */
  pwriteZeroes(host, node, offset, bytes, flags) {
    quorumPwritev(host, node, slot.get(node), offset, Data.zeros(bytes), flags | BDRV_REQ_ZERO_WRITE);
  },

  /** `quorum_refresh_flags`: zero writes may unmap when every child's may. */
  supportsZeroUnmap(node) {
    return slot.get(node).children.every((c) => c.bs.driver.supportsZeroUnmap?.(c.bs) ?? false);
  },

  /** `quorum_co_block_status`: no offset, no file. */
  blockStatus(host, node, wantZero, offset, bytes) {
    return { ...quorumBlockStatus(host, slot.get(node), wantZero, offset, bytes), map: 0, file: null };
  },

  /**
   * A header read: fifo reads the first child; a vote agrees without events when every child
   * shows the same host file bytes. Children that differ would need the vote on exactly the
   * requests QEMU makes, which the model's header reader does not make.
   */
  readAtZero(node) {
    const st = slot.get(node);
    if (st.readPattern === "fifo") return { node: st.children[0]!.bs };
    const paths = st.children.map((c) => hostFileAtZero(c.bs));
    if (paths.every((p): p is string => p !== null) && sameFileBytes(st.files, paths)) return { node: st.children[0]!.bs };
    return { unsupported: `an image header read through quorum node '${node.name}' whose children differ (or are not plain files)` };
  },

  /** `quorum_dirname`. */
  dirname() {
    return fail("Cannot generate a base directory for quorum nodes");
  },

  /** `quorum_gather_child_options`: the children's full options as one gap-less list. */
  gatherChildOptions(node, fullJson) {
    return { children: `[${slot.get(node).children.map((c) => fullJson(c.bs)).join(", ")}]` };
  },

  /** `quorum_add_child`. */
  addChild(node, child, ops) {
    const st = slot.get(node);
    if (st.isBlkverify) fail("Cannot add a child to a quorum in blkverify mode");
    const name = `children.${st.nextChildIndex}`;
    // The index is taken first and given back only if attaching fails.
    st.nextChildIndex++;
    try {
      st.children.push(ops.attach(child, name, BDRV_CHILD_DATA));
    } catch (e) {
      st.nextChildIndex--;
      throw e;
    }
  },

  /** `quorum_del_child`. */
  delChild(node, child, ops) {
    const st = slot.get(node);
    if (st.children.length <= st.threshold) {
      fail(`The number of children cannot be lower than the vote threshold ${st.threshold}`);
    }
    // Removing the newest child gives its index back.
    if (child.name === `children.${st.nextChildIndex - 1}`) st.nextChildIndex--;
    st.children.splice(st.children.indexOf(child), 1);
    ops.detach(child);
  },
};

