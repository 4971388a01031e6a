/** `blkdebug`: a protocol-style filter over `image`, with configurable extra and unshared child perms. */
import { defaultPerms } from "../child-perms.js";
import { ModelIoUnsupportedError } from "../data/io-error.js";
import type { BdsNode } from "../graph.js";
import { nodeLength } from "../node-length.js";
import { OpaqueSlot } from "../opaque.js";
import { flatList } from "../options.js";
import { permsFromQapiList } from "../perms.js";
import { qemuAssert, type QemuSourceLine } from "../qemu-would-crash.js";
import { fail, QmpFailure } from "../qmp-failure.js";
import { BDRV_CHILD_FILTERED, BDRV_CHILD_PRIMARY } from "../roles.js";
import { qdictKeyOrder } from "../../../qapi/qdict-order.js";
import { readBlkdebugConfig } from "./blkdebug-config.js";
import type { DriverDef } from "./driver.js";
import { FILTER_IO } from "./filter.js";

/** error_setv's `assert(*errp == NULL)` in Debian's 7.2.22 build (util/error.c). */
const ERROR_SETV: QemuSourceLine = { file: "../../util/error.c", line: 59, func: "error_setv" };

/** BDRVBlkdebugState, the part the model keeps. */
interface BlkdebugState {
  take: number;
  unshare: number;
  /** s->config_file ("" when none). */
  config: string;
  /** Whether inject-error rules were given (the model's data path cannot follow them). */
  injectsErrors: boolean;
}

const slot = new OpaqueSlot<BlkdebugState>("blkdebug");

/** blkdebug's QEMU_OPT_SIZE runtime options. */
const SIZE_OPTS = ["align", "max-transfer", "opt-write-zero", "max-write-zero", "opt-discard", "max-discard"];

/** Keys of full_open_options that still let blkdebug name itself "blkdebug:CONFIG:FILE". */
const PLAIN_KEYS = ["config", "image", "x-image", "driver"];

/** The node, once it is known to have no inject-error rules (rule_check is not modelled). */
function withoutRules(node: BdsNode): BdsNode {
  if (slot.get(node).injectsErrors) throw new ModelIoUnsupportedError("I/O through a blkdebug node with inject-error rules");
  return node;
}

export const blkdebugDriver: DriverDef = {
  name: "blkdebug",
  protocol: true,
  isFilter: true,
  supportsBacking: false,
  mutableOpts: [],
  strongOpts: ["config", "inject-error.", "set-state.", "align", "max-transfer", "opt-write-zero", "max-write-zero", "opt-discard", "max-discard"],

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
    const rules = readBlkdebugConfig(typeof config === "string" ? { path: ctx.resolvePath(config) } : undefined, ctx.options);
    slot.set(ctx.node, {
      take: permsFromQapiList(flatList(ctx.options, "take-child-perms")),
      unshare: permsFromQapiList(flatList(ctx.options, "unshare-child-perms")),
      config: typeof config === "string" ? config : "",
      injectsErrors: rules.injectErrorRules > 0,
    });
    try {
      const image = ctx.openChild("image", BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY, false)!;
      ctx.node.size = nodeLength(image.bs);
      const align = ctx.options["align"];
      if (typeof align === "number" && align !== 0) {
        if (align >= 2 ** 31 - 1 || (align & (align - 1)) !== 0) {
          fail(`Cannot meet constraints with align ${align}`);
        }
        ctx.node.alignment = align;
      }
    } catch (e) {
      if (rules.pending !== undefined && e instanceof QmpFailure) qemuAssert(ERROR_SETV, "*errp == NULL");
      throw e;
    }
    if (rules.pending !== undefined) fail(rules.pending);
  },

  // blkdebug_co_*: without rules a request goes to `image` as it is.
  preadv: (host, node, offset, bytes, flags) => FILTER_IO.preadv(host, withoutRules(node), offset, bytes, flags),
  pwritev: (host, node, offset, data, flags) => FILTER_IO.pwritev(host, withoutRules(node), offset, data, flags),
  pwriteZeroes: (host, node, offset, bytes, flags) => FILTER_IO.pwriteZeroes(host, withoutRules(node), offset, bytes, flags),
  pdiscard: (host, node, offset, bytes) => FILTER_IO.pdiscard(host, withoutRules(node), offset, bytes),

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
