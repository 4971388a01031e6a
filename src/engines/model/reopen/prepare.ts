/**
 * `bdrv_reopen_prepare` for one queue entry, with QEMU 7.2's check order: generic options, driver
 * support, option resets, the driver's own prepare, "backing is missing", the backing then file
 * change (cycle and implicit-child rules, graph change inside the transaction), and finally "every
 * other option must be unchanged".
 */
import { type BdsNode, childNamed, fileChild, reaches, skipImplicitFilters } from "../graph.js";
import type { Flat } from "../graph.js";
import { IoError } from "../data/io-error.js";
import { FilenameCache } from "../query/filename.js";
import type { LayerState } from "../layer-state.js";
import { absorbQemuOpts, type QemuOptType } from "../drivers/qemu-opts.js";
import { checkDetectZeroes, qemuOptsToQdict } from "../options.js";
import { qdictKeyOrder } from "../../../qapi/qdict-order.js";
import type { ReopenState } from "../drivers/driver.js";
import { qemuAssert, qemuNotReached, type QemuSourceLine } from "../qemu-would-crash.js";
import { fail } from "../qmp-failure.js";
import { setFileOrBackingNoperm } from "../set-backing.js";
import type { Transaction } from "../transaction.js";
import type { ReopenEntry } from "./queue.js";

/** Options any node may leave out on reopen (`bdrv_reset_options_allowed`). */
const COMMON_RESETTABLE = ["node-name", "discard", "cache.direct", "cache.no-flush", "read-only", "auto-read-only", "detect-zeroes"];

/** `bdrv_runtime_opts`: the generic options every node takes, by QemuOpts type. */
const BDRV_RUNTIME_OPTS: Readonly<Record<string, QemuOptType>> = {
  "node-name": "string",
  driver: "string",
  "cache.direct": "bool",
  "cache.no-flush": "bool",
  "read-only": "bool",
  "auto-read-only": "bool",
  "detect-zeroes": "string",
  discard: "string",
  "force-share": "bool",
};

/** bdrv_runtime_opts consumed by the generic part of prepare. */
const GENERIC_CONSUMED = ["read-only", "auto-read-only", "cache.direct", "cache.no-flush", "discard", "detect-zeroes"];

/** bdrv_runtime_opts put back as QemuOpts strings, so they are compared as strings. */
const GENERIC_PUT_BACK = ["node-name", "driver", "force-share"];

/**
 * Prepare one entry. On success the driver's staged state is in `entry.driver`; on failure after the
 * driver's prepare succeeded, its reopenAbort has run (QEMU's `drv_prepared` clean-up).
 */
export function prepareEntry(state: LayerState, entry: ReopenEntry, tran: Transaction): void {
  const bs = entry.bs;
  const drv = bs.driver;
  const opts: Flat = { ...entry.options };
  for (const k of GENERIC_CONSUMED) delete opts[k];
  qemuOptsToQdict(opts, GENERIC_PUT_BACK);

  // qemu_opts_absorb_qdict(bdrv_runtime_opts): a QMP reopen passes typed values, qemu-io's
  // `reopen -o` strings, which must parse as the option's type (the first that does not, in QDict
  // order, fails the prepare).
  const generic = absorbQemuOpts({ ...entry.options }, BDRV_RUNTIME_OPTS);
  const discard = generic.str("discard");
  if (discard !== undefined && !["off", "ignore", "on", "unmap"].includes(discard)) fail("Invalid discard option");
  // bdrv_parse_detect_zeroes: qapi_enum_parse of BlockdevDetectZeroesOptions.
  const detectZeroes = generic.str("detect-zeroes");
  if (detectZeroes !== undefined && !["off", "on", "unmap"].includes(detectZeroes)) fail(`invalid parameter value: ${detectZeroes}`);
  checkDetectZeroes(entry.options, entry.unmap);
  if (!drv.reopenPrepare) {
    fail(`Block format '${drv.name}' used by node '${bs.name}' does not support reopening files`);
  }
  for (const key of qdictKeyOrder(Object.keys(bs.options))) {
    if (!(key in opts) && !COMMON_RESETTABLE.includes(key) && !drv.mutableOpts.includes(key)) {
      fail(`Option '${key}' cannot be reset to its default value`);
    }
  }
  const rs: ReopenState = { bs, options: opts, readOnly: entry.readOnly, opaque: null };
  try {
    drv.reopenPrepare(rs, state);
  } catch (e) {
    // A driver's prepare that fails with an errno and no message of its own (qcow2's flush).
    if (e instanceof IoError) fail(`failed while preparing to reopen image '${new FilenameCache().filename(bs)}'`);
    throw e;
  }
  try {
    checkAfterDriver(state, entry, opts, tran);
  } catch (e) {
    drv.reopenAbort?.(rs, state);
    throw e;
  }
  // The checks ate their copy; commit and abort see all the options again.
  rs.options = entry.options;
  entry.driver = rs;
}

/** What bdrv_reopen_prepare checks once the driver has taken its options. */
function checkAfterDriver(state: LayerState, entry: ReopenEntry, opts: Flat, tran: Transaction): void {
  const bs = entry.bs;
  if (bs.driver.supportsBacking && entry.backingMissing && (childNamed(bs, "backing") || bs.backingFile !== "")) {
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

const PARSE_AT = (line: number): QemuSourceLine => ({ file: "../../block.c", line, func: "bdrv_reopen_parse_file_or_backing" });

/** `bdrv_reopen_parse_file_or_backing` + `bdrv_set_file_or_backing_noperm`. */
function changeChild(state: LayerState, entry: ReopenEntry, opts: Flat, isBacking: boolean, tran: Transaction): void {
  const bs = entry.bs;
  const key = isBacking ? "backing" : "file";
  if (!(key in opts)) return;
  const value = opts[key];
  // Flattened and schema-checked, the value is a node name, or null where the schema allows it ('backing').
  if (value === null && !isBacking) qemuAssert(PARSE_AT(4566), "is_backing");
  if (value !== null && typeof value !== "string") qemuNotReached(PARSE_AT(4585));
  const oldChild = isBacking ? childNamed(bs, key) : fileChild(bs);
  const oldBs = oldChild?.bs ?? null;
  let newBs: BdsNode | null = null;
  if (value !== null) {
    const name = value;
    newBs = state.nodes.get(name) ?? fail(`Cannot find device='' nor node-name='${name}'`);
    // No cycle can exist yet, so the (deep) walk is only needed when the child really changes.
    if (newBs !== oldBs && reaches(newBs, bs)) fail(`Making '${name}' a ${key} child of '${bs.name}' would create a cycle`);
  }
  if (oldBs === newBs) return;
  // Naming the node below an implicit job filter keeps the filter (bdrv_skip_implicit_filters).
  if (oldBs && skipImplicitFilters(oldBs) === newBs) return;
  if (oldBs?.implicit) fail(`Cannot replace implicit ${key} child of ${bs.name}`);
  // A filter's one child is its file (or a job filter's backing): the other one is the wrong child.
  if (bs.driver.isFilter && !oldBs) fail(`'${bs.name}' is a ${bs.driver.name} filter node that does not support a ${key} child`);
  if (isBacking) entry.oldBacking = oldBs;
  else entry.oldFile = oldBs;

  // bdrv_reopen_multiple commits with no context lock held: a detached child freed there in an
  // iothread takes QEMU down (aio-context/main-thread-wait.ts).
  setFileOrBackingNoperm(state, bs, newBs, isBacking, tran, true);
}
