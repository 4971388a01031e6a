/**
 * What the image formats' `bdrv_co_create` share: the node named by `file` (bdrv_open_blockdev_ref),
 * a BlockBackend of their own on it taking WRITE and RESIZE and sharing everything
 * (blk_new_with_bs), and the image's pieces written through it.
 */
import { blkNewWithBs, blkUnref } from "../block-backend.js";
import { bdrvPwritev } from "../data/block-io.js";
import { Data } from "../data/data.js";
import { Errno } from "../data/io-error.js";
import type { BdsNode, BlockBackend } from "../graph.js";
import type { ImageLayout } from "../images/image-layout.js";
import type { LayerState } from "../layer-state.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { BLK_PERM_ALL, BLK_PERM_RESIZE, BLK_PERM_WRITE } from "../perms.js";
import { QmpFailure } from "../qmp-failure.js";
import { CreateFailure, createFail } from "./create-failure.js";
import { inArgTypeOrder } from "../../../qapi/output-order.js";
import { bdrvRef, bdrvUnref } from "../graph-ops.js";
import { NodeOpener } from "../open-node.js";
import { flatten, setDefault } from "../options.js";
import { runInTransaction } from "../transaction.js";

/** The nodes inline definitions opened for each create running (innermost last), released at its end. */
const opened: BdsNode[][] = [];

/**
 * `bdrv_open_blockdev_ref`: a node name, or an inline definition, which opens a node of its own as
 * blockdev-add would (with the same defaults, `auto-read-only` too), held by the create alone and
 * let go when it ends (withInlineRefs). An open that fails fails the create with its error.
 */
export function openRef(state: LayerState, ref: unknown): BdsNode {
  if (typeof ref === "string") return state.nodes.get(ref) ?? createFail(`Cannot find device='${ref}' nor node-name='${ref}'`, Errno.EIO);
  const options = flatten(inArgTypeOrder("blockdev-add", ref as Record<string, unknown>));
  for (const key of ["cache.direct", "cache.no-flush", "read-only", "auto-read-only"]) setDefault(options, key, "off");
  let node: BdsNode | undefined;
  try {
    runInTransaction((tran) => {
      node = new NodeOpener(state, tran).open({ options, parent: null, parentOptions: null, role: 0 });
    });
  } catch (e) {
    if (e instanceof QmpFailure) createFail(e.body.desc, Errno.EIO);
    throw e;
  }
  bdrvRef(node!);
  (opened[opened.length - 1] ?? []).push(node!);
  return node!;
}

/**
 * Run a driver's create; the nodes its inline definitions opened are let go after it, as `out:`
 * does, whether it made the image or failed. Past a crash, a hang or a refusal nothing is let go.
 */
export function withInlineRefs<T>(state: LayerState, fn: () => T): T {
  opened.push([]);
  let ended = false;
  try {
    const made = fn();
    ended = true;
    return made;
  } catch (e) {
    ended = e instanceof CreateFailure || e instanceof QmpFailure;
    throw e;
  } finally {
    const nodes = opened.pop()!;
    if (ended) for (const node of nodes.reverse()) bdrvUnref(state, node);
  }
}

/**
 * The create's I/O would go to a node in an iothread: blockdev_create_run runs in the main loop
 * without that context's lock, and once its first request completes there QEMU 7.2 releases a lock
 * the thread does not hold (qemu_mutex_unlock_impl) and aborts, after the command has answered.
 */
export class CreateInIothread extends Error {}

/**
 * The create aborts QEMU once its first request has yielded: the job coroutine runs until then
 * inside blockdev-create, so the command answers first.
 */
export class CreateAbortsAfterFirstRequest extends Error {
  constructor(readonly abort: Error) {
    super(abort.message);
  }
}

/** `blk_new_with_bs(bs, WRITE | RESIZE, ALL)` around `fn`, then `blk_unref`; a refusal fails with -EPERM. */
export function withCreateBackend<T>(state: LayerState, bs: BdsNode, fn: (blk: BlockBackend) => T): T {
  const ctx = state.aio.of(bs);
  if (!ctx.isMain) {
    // With a lock block_resize leaked, the main thread holds it once and the waits work.
    if (ctx.leakedLocks > 0) throw new ModelUnsupportedError("blockdev-create on a node in an iothread whose lock the main thread holds");
    throw new CreateInIothread();
  }
  let blk: BlockBackend;
  try {
    blk = blkNewWithBs(state, bs, BLK_PERM_WRITE | BLK_PERM_RESIZE, BLK_PERM_ALL);
  } catch (e) {
    if (e instanceof QmpFailure) createFail(e.body.desc, Errno.EPERM);
    throw e;
  }
  try {
    return fn(blk);
  } finally {
    blkUnref(state, blk);
  }
}

/** The model writes images on nodes of the file driver only. */
export function requireFileDriver(bs: BdsNode, format: string, member: string): void {
  if (!bs.driver.createsOnHostFile) throw new ModelUnsupportedError(`blockdev-create of ${format} on a '${member}' node of driver '${bs.driver.name}'`);
}

/** The layout's pieces written in order (blk_co_pwrite), past the end of the node as they go. */
export function writeLayoutOn(state: LayerState, bs: BdsNode, layout: ImageLayout): void {
  for (const { offset, bytes, zeros = 0 } of layout.chunks) bdrvPwritev(state, bs, offset, Data.concat([Data.bytes(bytes), Data.zeros(zeros)]));
}
