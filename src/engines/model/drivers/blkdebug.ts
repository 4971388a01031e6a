/** `blkdebug`: a protocol-style filter over `image`, with configurable extra and unshared child perms. */
import { defaultPerms } from "../child-perms.js";
import { bdrvFlush, pdiscardAlignmentOf, requestAlignment } from "../data/block-io.js";
import { Errno, InjectedIoError, ioFail, ModelIoUnsupportedError } from "../data/io-error.js";
import { inCachedRead, inMetadataRequest } from "../data/metadata-request.js";
import { BDRV_BLOCK_OFFSET_VALID, BDRV_BLOCK_RAW } from "../data/request-flags.js";
import { type BdsNode, fileChild } from "../graph.js";
import { nodeLength } from "../node-length.js";
import { OpaqueSlot } from "../opaque.js";
import { flatList } from "../options.js";
import { permsFromQapiList } from "../perms.js";
import { ERROR_SETV, QemuAbort, qemuAssert, type QemuSourceLine } from "../qemu-would-crash.js";
import { fail, QmpFailure } from "../qmp-failure.js";
import { BDRV_CHILD_FILTERED, BDRV_CHILD_PRIMARY } from "../roles.js";
import { qdictKeyOrder } from "../../../qapi/qdict-order.js";
import { blkdebugEvents, readBlkdebugConfig } from "./blkdebug-config.js";
import { type BlkdebugIoType, BlkdebugRules } from "./blkdebug-rules.js";
import type { DriverDef } from "./driver.js";
import { FILTER_IO, filteredSupportsZeroUnmap } from "./filter.js";

/** BDRVBlkdebugState, the part the model keeps. */
interface BlkdebugState {
  take: number;
  unshare: number;
  /** s->config_file ("" when none). */
  config: string;
  /** The inject-error, set-state and breakpoint rules and the state they act on. */
  rules: BlkdebugRules;
}

const slot = new OpaqueSlot<BlkdebugState>("blkdebug");

/** blkdebug's QEMU_OPT_SIZE runtime options. */
const SIZE_OPTS = ["align", "max-transfer", "opt-write-zero", "max-write-zero", "opt-discard", "max-discard"];

/** A size option as blkdebug_open reads it (0 when not given); one too large for a number is past every limit. */
function sizeOption(options: Record<string, unknown>, key: string): number {
  const v = options[key];
  return typeof v === "number" ? v : typeof v === "bigint" ? Number.MAX_SAFE_INTEGER : 0;
}

const INT_MAX = 2 ** 31 - 1;

/**
 * blkdebug_open's alignment overrides, checked in its order: `align` a power of two, the others
 * multiples of the alignment (the larger of `align` and the image's), each maximum of its optimum
 * too, all below INT_MAX.
 */
function checkLimits(node: BdsNode, options: Record<string, unknown>, imageAlignment: number): void {
  const align = sizeOption(options, "align");
  if (align && (align >= INT_MAX || (align & (align - 1)) !== 0)) fail(`Cannot meet constraints with align ${String(options["align"])}`);
  if (align) node.alignment = align;
  const unit = Math.max(align, imageAlignment);
  const check = (key: string, multipleOf: number): void => {
    const v = sizeOption(options, key);
    if (v && (v >= INT_MAX || v % multipleOf !== 0)) fail(`Cannot meet constraints with ${key} ${String(options[key])}`);
  };
  check("max-transfer", unit);
  check("opt-write-zero", unit);
  check("max-write-zero", Math.max(sizeOption(options, "opt-write-zero"), unit));
  check("opt-discard", unit);
  check("max-discard", Math.max(sizeOption(options, "opt-discard"), unit));
}

/** Keys of full_open_options that still let blkdebug name itself "blkdebug:CONFIG:FILE". */
const PLAIN_KEYS = ["config", "image", "x-image", "driver"];

/**
 * Parents whose drivers announce no blkdebug events the model leaves out: the model's generic I/O
 * path and raw-format announce theirs (data/block-io.ts, raw.ts); qcow2 and the rest announce
 * events of their own (L2 loads, cluster allocations, flushes…) that the model does not.
 */
const QUIET_PARENTS = new Set(["raw", "throttle", "compress", "preallocate", "copy-on-read", "blkdebug", "mirror_top", "commit_top", "quorum", "blkverify", "copy-before-write", "blklogwrites"]);

/**
 * Parents in the middle of opening (drivers/qcow2.ts): the only event qcow2_do_open sends is
 * reftable_load, so rules that wait on nothing but `none` (sent as blkdebug opens) are followed for
 * its reads; from then on its events are those the model leaves out.
 */
const openingParents = new Set<BdsNode>();

/** Run `reads`, the reads `parent`'s driver makes to open, through blkdebug rules that wait only on `none`. */
export function readsToOpen<T>(parent: BdsNode, reads: () => T): T {
  openingParents.add(parent);
  try {
    return reads();
  } finally {
    openingParents.delete(parent);
  }
}

/** The events the generic block layer sends a format's file child: blkdebug's own at open, and bdrv_co_flush's. */
const GENERIC_EVENTS = ["none", "flush_to_os", "flush_to_disk"];

/**
 * The node's rules, once it is known that the model sees every event QEMU would send them: below
 * a quiet parent, or a format that announces its own events (DriverDef.blkdebugEvents) when the
 * rules wait for no other.
 */
function followedRules(node: BdsNode): BlkdebugRules {
  const rules = slot.get(node).rules;
  const events = rules.events();
  if (events.length === 0) return rules;
  for (const p of node.parents) {
    if (p.parent.kind !== "node" || QUIET_PARENTS.has(p.parent.node.driver.name)) continue;
    if (openingParents.has(p.parent.node) && events.every((e) => e === "none")) continue;
    const announced = p.parent.node.driver.blkdebugEvents;
    if (announced && events.every((e) => GENERIC_EVENTS.includes(e) || announced.includes(e))) continue;
    const which = announced ? `its '${events.find((e) => !GENERIC_EVENTS.includes(e) && !announced.includes(e))}' event is not modelled` : "its blkdebug events are not modelled";
    throw new ModelIoUnsupportedError(`blkdebug rules under a '${p.parent.node.driver.name}' node (${which})`);
  }
  return rules;
}

/** Whether a parent of `node` is opening, whose reads fail as the model says (readsToOpen). */
function underOpeningParent(node: BdsNode): boolean {
  return node.parents.some((p) => p.parent.kind === "node" && openingParents.has(p.parent.node));
}

/**
 * `rule_check`: fail the request with the errno of the first active rule that covers it. A
 * format's metadata read or write is not failed (see data/metadata-request.ts); its discards and
 * flushes are, as nothing in the format above changes when they fail.
 */
function ruleCheck(node: BdsNode, offset: number, bytes: number, iotype: BlkdebugIoType): void {
  if (inCachedRead()) return;
  const rules = followedRules(node);
  const metadata = (iotype === "read" || iotype === "write" || iotype === "write-zeroes") && inMetadataRequest() && !underOpeningParent(node);
  if (metadata && rules.wouldFail(offset, bytes, iotype)) {
    throw new ModelIoUnsupportedError(`a blkdebug error injected into a format's metadata request (${iotype} at ${offset}); only guest data requests are followed`);
  }
  const { errno, immediately } = rules.fire(offset, bytes, iotype);
  if (errno) throw new InjectedIoError(errno, immediately);
}

export const blkdebugDriver: DriverDef = {
  name: "blkdebug",
  fua: { write: "file", zero: "file" },
  protocol: true,
  isFilter: true,
  supportsBacking: false,
  fileChildName: "image",
  mutableOpts: [],
  strongOpts: ["config", "inject-error.", "set-state.", "align", "max-transfer", "opt-write-zero", "max-write-zero", "opt-discard", "max-discard"],
  supportsZeroUnmap: filteredSupportsZeroUnmap,

  /**
   * `blkdebug_open`: the rules (config file, then options) are read before the image is opened. An
   * error QEMU leaves pending (blkdebug-config.ts) is reported once the open is done; should
   * anything fail before that, QEMU sets a second error on the same errp and asserts.
   */
  open(ctx) {
    // qemu_opts_absorb_qdict(runtime_opts): a size option parse_option_size refuses, in QDict order.
    const sizes = Object.keys(ctx.options).filter((k) => SIZE_OPTS.includes(k));
    for (const key of qdictKeyOrder(sizes)) {
      const v = ctx.options[key];
      if ((typeof v === "number" || typeof v === "bigint") && v < 0) fail(`Parameter '${key}' expects a non-negative number below 2^64`);
    }
    const config = ctx.options["config"];
    const rules = readBlkdebugConfig(typeof config === "string" ? { path: ctx.resolvePath(config), files: ctx.host.hostFiles } : undefined, ctx.options);
    slot.set(ctx.node, {
      take: permsFromQapiList(flatList(ctx.options, "take-child-perms")),
      unshare: permsFromQapiList(flatList(ctx.options, "unshare-child-perms")),
      config: typeof config === "string" ? config : "",
      rules: new BlkdebugRules(rules.rules),
    });
    try {
      const image = ctx.openChild("image", BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY, false)!;
      ctx.node.size = nodeLength(image.bs);
      checkLimits(ctx.node, ctx.options, requestAlignment(image.bs));
    } catch (e) {
      if (rules.pending !== undefined && e instanceof QmpFailure) qemuAssert(ERROR_SETV, "*errp == NULL");
      throw e;
    }
    if (rules.pending !== undefined) fail(rules.pending);
    // The last thing blkdebug_open does: bdrv_debug_event(bs, BLKDBG_NONE).
    slot.get(ctx.node).rules.event("none");
  },

  /** `blkdebug_refresh_limits`: where the generic code splits zero writes and discards, and how much it writes at once. */
  ioLimits(node) {
    const o = node.options;
    return {
      pwriteZeroesAlignment: sizeOption(o, "opt-write-zero"),
      maxPwriteZeroes: sizeOption(o, "max-write-zero"),
      pdiscardAlignment: sizeOption(o, "opt-discard"),
      maxPdiscard: sizeOption(o, "max-discard"),
      maxTransfer: sizeOption(o, "max-transfer"),
    };
  },

  // blkdebug_co_*: the rules are checked, then the request goes to `image` as it is.
  preadv(host, node, offset, bytes, flags) {
    ruleCheck(node, offset, bytes, "read");
    return FILTER_IO.preadv(host, node, offset, bytes, flags);
  },
  pwritev(host, node, offset, data, flags) {
    ruleCheck(node, offset, data.length, "write");
    FILTER_IO.pwritev(host, node, offset, data, flags);
  },
  /** Requests smaller than the zero-write alignment are left to the generic fallback (-ENOTSUP). */
  pwriteZeroes(host, node, offset, bytes, flags) {
    const optWriteZero = node.options["opt-write-zero"];
    if (bytes < Math.max(requestAlignment(node), typeof optWriteZero === "number" ? optWriteZero : 0)) ioFail(Errno.ENOTSUP);
    ruleCheck(node, offset, bytes, "write-zeroes");
    FILTER_IO.pwriteZeroes(host, node, offset, bytes, flags);
  },
  /**
   * `blkdebug_co_pdiscard`: requests smaller than the request alignment are dropped (-ENOTSUP,
   * which discards ignore); its assertions on what block/io.c's split hands it are QEMU's, the
   * first of them a division by zero where no discard alignment is set.
   */
  pdiscard(host, node, offset, bytes) {
    const requestAlign = requestAlignment(node);
    const align = pdiscardAlignmentOf(node);
    const at = (line: number): QemuSourceLine => ({ file: "../../block/blkdebug.c", line, func: "blkdebug_co_pdiscard" });
    if (bytes < requestAlign) {
      if (align === 0) throw new QemuAbort("SIGFPE", "blkdebug_co_pdiscard: QEMU_IS_ALIGNED(offset, 0) divides by zero");
      const end = offset + bytes;
      if (offset % align !== 0 && end % align !== 0 && Math.ceil(offset / align) !== Math.ceil(end / align)) {
        qemuAssert(at(725), "QEMU_IS_ALIGNED(offset, align) || QEMU_IS_ALIGNED(offset + bytes, align) || DIV_ROUND_UP(offset, align) == DIV_ROUND_UP(offset + bytes, align)");
      }
      ioFail(Errno.ENOTSUP);
    }
    if (offset % requestAlign !== 0) qemuAssert(at(731), "QEMU_IS_ALIGNED(offset, bs->bl.request_alignment)");
    if (bytes % requestAlign !== 0) qemuAssert(at(732), "QEMU_IS_ALIGNED(bytes, bs->bl.request_alignment)");
    if (align && bytes >= align) {
      if (offset % align !== 0) qemuAssert(at(734), "QEMU_IS_ALIGNED(offset, align)");
      if (bytes % align !== 0) qemuAssert(at(735), "QEMU_IS_ALIGNED(bytes, align)");
    }
    const maxPdiscard = sizeOption(node.options, "max-discard");
    if (maxPdiscard && bytes > maxPdiscard) qemuAssert(at(738), "bytes <= bs->bl.max_pdiscard");
    ruleCheck(node, offset, bytes, "discard");
    FILTER_IO.pdiscard(host, node, offset, bytes);
  },
  /** `blkdebug_co_flush`: the rules, then the image is flushed, whatever the edge's permissions. */
  flushToDisk(host, node) {
    ruleCheck(node, 0, 0, "flush");
    bdrvFlush(host, fileChild(node)!.bs);
  },
  /** `blkdebug_co_block_status`: the image's answer at the same offset, once the rules allow it. */
  blockStatus(_host, node, _wantZero, offset, bytes) {
    ruleCheck(node, offset, bytes, "block-status");
    return { status: BDRV_BLOCK_RAW | BDRV_BLOCK_OFFSET_VALID, pnum: bytes, map: offset, file: fileChild(node)!.bs };
  },

  debug: {
    event(node, event) {
      followedRules(node).event(event);
    },
    breakpoint(node, event, tag) {
      return slot.get(node).rules.breakpoint(event, tag, blkdebugEvents());
    },
    removeBreakpoint(node, tag) {
      return slot.get(node).rules.removeBreakpoint(tag);
    },
    // The model never holds a request suspended (see blkdebug-rules.ts), so there is none to resume.
    resume: () => Errno.ENOENT,
    isSuspended: () => false,
    wouldFail(node, offset, bytes, iotype) {
      return followedRules(node).wouldFail(offset, bytes, iotype);
    },
  },

  /** `blkdebug_child_perm`. */
  childPerm({ node, child, P, S, writable }) {
    const st = slot.get(node);
    const [perm, shared] = defaultPerms(child.role, P, S, writable);
    return [perm | st.take, shared & ~st.unshare];
  },

  /** `blkdebug_reopen_prepare` accepts any reopen and takes no option. */
  reopenPrepare() {},

  /** `blkdebug_refresh_filename`: "blkdebug:CONFIG:IMAGE" while only plain options were given. */
  refreshFilename(node, { fullOpenOptionKeys, primaryExactFilename }) {
    if (!primaryExactFilename || !fullOpenOptionKeys.every((k) => PLAIN_KEYS.includes(k))) return "";
    return `blkdebug:${slot.get(node).config}:${primaryExactFilename}`;
  },
};
