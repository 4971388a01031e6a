/** nbd-server-start/-stop and block-export-add/-del: NBD exports as anonymous BlockBackend parents. */
import { acquireNodeContext } from "../aio-context/iothread-objects.js";
import { resolve } from "node:path";
import { blkUnrefDrains } from "../block-backend.js";
import { exportBackendPinning, exportIothread } from "../aio-context/export-iothread.js";
import { childNamed, filteredChild, type BdsNode, type BlockBackend, type Child } from "../graph.js";
import type { DirtyBitmap } from "../jobs/dirty-bitmap.js";
import { BITMAP_ALLOW_RO, checkDirtyBitmap, findDirtyBitmap, lookupDirtyBitmap } from "../dirty-bitmaps.js";
import { attachEdge, detachAndRelease } from "../graph-ops.js";
import type { BlockExport, LayerState } from "../layer-state.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { idWellformed } from "../node-names.js";
import { nodeLength } from "../node-length.js";
import { refreshPerms, setChildPerm } from "../perm-refresh.js";
import { BLK_PERM_ALL, BLK_PERM_CONSISTENT_READ, BLK_PERM_RESIZE, BLK_PERM_WRITE } from "../perms.js";
import { QemuAbort } from "../qemu-would-crash.js";
import { fail } from "../qmp-failure.js";
import { BDRV_CHILD_FILTERED, BDRV_CHILD_PRIMARY } from "../roles.js";
import { runInTransaction } from "../transaction.js";
import { lookupBs } from "./blockdev-backup.js";
import type { CommandHandler } from "./handler.js";
import { socketListen } from "./socket-listen.js";

/** The longest export name or description an NBD client may be sent (nbd.h). */
const NBD_MAX_STRING_SIZE = 4096;

export const nbdServerStart: CommandHandler = (state, args) => {
  if (state.nbdServerRunning) fail("NBD server already running");
  const addr = args["addr"] as { type?: unknown; data?: { path?: unknown; abstract?: unknown } } | undefined;
  if (addr) socketListen(state, addr);
  // nbd_get_tls_creds, once the listener is open: the model makes no TLS credentials objects, so
  // an id names either nothing or an object of another type.
  const tlsCreds = args["tls-creds"];
  if (typeof tlsCreds === "string") {
    if (!state.objectExists(tlsCreds)) fail(`No TLS credentials with id '${tlsCreds}'`);
    fail(`Object with id '${tlsCreds}' is not TLS credentials`);
  }
  state.nbdServerRunning = true;
  // Where an nbd client node of this process would connect to it (drivers/nbd.ts).
  // An abstract name is kept as Linux spells it, after a NUL: it names no file.
  if (addr?.type === "unix" && typeof addr.data?.path === "string") {
    state.nbdServerSocket = addr.data.abstract === true ? `\0${addr.data.path}` : resolve(state.workdir, addr.data.path);
  }
  return {};
};

export const nbdServerStop: CommandHandler = (state) => {
  if (!state.nbdServerRunning) fail("NBD server not running");
  blkExpCloseAll(state);
  state.nbdServerRunning = false;
  state.nbdServerSocket = undefined;
  return {};
};

/** `blk_exp_close_all_type` (NBD is the only type): every export goes, each announced. */
export function blkExpCloseAll(state: LayerState): void {
  // It walks the export list, which QEMU builds newest-first.
  for (const exp of [...state.exports.values()].reverse()) removeExport(state, exp);
}

/** Drop the export's BlockBackend (its edge goes, perms relax) and announce it. */
function removeExport(state: LayerState, exp: BlockExport): void {
  // blk_exp_request_shutdown takes exp->ctx, which follows the node's.
  if (exp.bb.root) acquireNodeContext(state, exp.bb.root.bs);
  if (exp.bb.root) blkUnrefDrains(state, exp.bb.root.bs, state.aio.of(exp.bb.root.bs));
  if (exp.bb.root) detachAndRelease(state, exp.bb.root);
  exp.bb.root = null;
  // nbd_export_delete: the bitmaps it published are free again.
  for (const b of exp.bitmaps) b.busy = false;
  state.backends.delete(exp.bb);
  state.exports.delete(exp.id);
  state.emit("BLOCK_EXPORT_DELETED", { id: exp.id });
}

export const blockExportAdd: CommandHandler = (state, args) => {
  // vhost-user-blk, fuse and vduse-blk exports are QEMU's too, each with its own server and checks.
  if (args["type"] !== "nbd") throw new ModelUnsupportedError(`block exports of type '${String(args["type"])}'`);
  const id = String(args["id"]);
  const nodeName = String(args["node-name"]);
  const writable = args["writable"] === true;
  if (!idWellformed(id)) fail("Invalid block export id");
  if (state.exports.has(id)) fail(`Block export id '${id}' is already in use`);
  const node = state.nodes.get(nodeName) ?? fail(`Cannot find device='' nor node-name='${nodeName}'`);
  if (writable && node.readOnly) fail("Cannot export read-only node as writable");
  acquireNodeContext(state, node);
  exportIothread(state, node, args);

  const bb: BlockBackend = { serial: state.nextSerial(), root: null };
  exportBackendPinning(state, bb, args);
  const perm = BLK_PERM_CONSISTENT_READ | (writable ? BLK_PERM_WRITE : 0);
  // blk_insert_bs: a root attach refreshes from the child, in its own transaction (as is each step).
  runInTransaction((tran) => {
    bb.root = attachEdge({ kind: "bb", bb }, node, "root", BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY, tran, { perm, shared: BLK_PERM_ALL });
    refreshPerms(state, [node], tran);
  });
  const root = bb.root!;
  const release = (): void => {
    blkUnrefDrains(state, root.bs, state.aio.of(root.bs));
    detachAndRelease(state, root);
    bb.root = null;
  };
  try {
    if (!state.nbdServerRunning) fail("NBD server not running");
    const name = typeof args["name"] === "string" ? args["name"] : nodeName;
    // NBD_MAX_STRING_SIZE, in bytes (strlen), for the name and the description alike.
    if (Buffer.byteLength(name) > NBD_MAX_STRING_SIZE) fail(`export name '${name}' too long`);
    const description = args["description"];
    if (typeof description === "string" && Buffer.byteLength(description) > NBD_MAX_STRING_SIZE) fail(`description '${description}' too long`);
    for (const e of state.exports.values()) if (e.name === name) fail(`NBD server already has export named '${name}'`);
    // nbd_export_create asks the export's length (blk_getlength), which a variable-length node
    // computes again and keeps: a job's filter left without its child segfaults QEMU 7.2 here.
    nodeLength(root.bs);
    // nbd_export_create: resize is never shared while exported.
    runInTransaction((tran) => {
      setChildPerm(root, root.perm, root.shared & ~BLK_PERM_RESIZE, tran);
      refreshPerms(state, [node], tran);
    });
    const bitmaps = exportBitmaps(state, node, args["bitmaps"] as unknown[] | undefined, !writable);
    // Busy in a loop of their own, once all are found: nothing to undo before.
    for (const b of bitmaps) b.busy = true;
    state.backends.add(bb);
    state.exports.set(id, { id, name, bb, bitmaps });
  } catch (e) {
    if (!(e instanceof QemuAbort)) release();
    throw e;
  }
  return {};
};

export const blockExportDel: CommandHandler = (state, args) => {
  const id = String(args["id"]);
  const exp = state.exports.get(id) ?? fail(`Export '${id}' is not found`);
  removeExport(state, exp);
  return {};
};

/** query-block-exports: BlockExportInfo per export, newest first (QEMU's export list is prepended). */
export const queryBlockExports: CommandHandler = (state) =>
  // The node the export's BlockBackend is on now (blk_bs): a job's end may have replaced it.
  [...state.exports.values()].reverse().map((e) => ({ id: e.id, type: "nbd", "node-name": e.bb.root!.bs.name, "shutting-down": false }));

/**
 * nbd_export_create's `bitmaps`: a name is looked for on the export's node and down its filtered and
 * backing children; an enabled bitmap of a writable node cannot be published read-only, since it
 * would change under its readers. `{node, name}` names one anywhere.
 */
function exportBitmaps(state: LayerState, root: BdsNode, refs: readonly unknown[] | undefined, readonly: boolean): DirtyBitmap[] {
  const out: DirtyBitmap[] = [];
  for (const ref of refs ?? []) {
    let bitmap: DirtyBitmap | undefined;
    if (typeof ref === "string") {
      let bs: BdsNode | undefined = root;
      while (bs && !(bitmap = findDirtyBitmap(bs, ref))) bs = filterOrCowChild(bs)?.bs;
      if (!bitmap || !bs) fail(`Bitmap '${ref}' is not found`);
      if (readonly && !bs.readOnly && bitmap.recording) fail(`Enabled bitmap '${ref}' incompatible with readonly export`);
    } else {
      const { node, name } = ref as { node: string; name: string };
      bitmap = lookupDirtyBitmap(state, node, name).bitmap;
    }
    checkDirtyBitmap(bitmap, BITMAP_ALLOW_RO);
    out.push(bitmap);
  }
  return out;
}

/** `bdrv_filter_or_cow_child`: a filter's filtered child, or another node's backing child. */
function filterOrCowChild(bs: BdsNode): Child | undefined {
  return bs.driver.isFilter ? filteredChild(bs) : childNamed(bs, "backing");
}

/**
 * nbd-server-add (blockdev-nbd.c `qmp_nbd_server_add`, deprecated): block-export-add of an NBD
 * export whose id and export name default to `device`, with `bitmap` as its one bitmap; a
 * read-only node is exported read-only rather than refused.
 */
export const nbdServerAdd: CommandHandler = (state, args) => {
  const device = String(args["device"]);
  const bs = lookupBs(state, device);
  const name = typeof args["name"] === "string" ? args["name"] : device;
  const opts: Record<string, unknown> = { type: "nbd", id: name, "node-name": bs.name, name };
  if (typeof args["writable"] === "boolean") opts["writable"] = args["writable"];
  if (typeof args["description"] === "string") opts["description"] = args["description"];
  if (typeof args["bitmap"] === "string") opts["bitmaps"] = [args["bitmap"]];
  if (bs.readOnly) opts["writable"] = false;
  return blockExportAdd(state, opts);
};

/** nbd-server-remove (deprecated): block-export-del of that export, which can only be NBD here. */
export const nbdServerRemove: CommandHandler = (state, args) => blockExportDel(state, { id: args["name"], ...(args["mode"] !== undefined ? { mode: args["mode"] } : {}) });
