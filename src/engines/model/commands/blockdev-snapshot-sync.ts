/**
 * blockdev-snapshot-sync (blockdev.c: a transaction of one `external_snapshot` action, its sync
 * branch): unless `mode` is `existing`, the overlay's image is created first (`bdrv_img_create`,
 * naming the node's filename and format as its backing file, the node's length as its size); then
 * it is opened (`bdrv_open`) with the node's open flags and no backing file, and appended as
 * blockdev-snapshot appends its overlay. The action holds the only reference to the overlay it
 * opened, so an overlay the node's parents did not take goes again at clean; the file stays.
 */
import { statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import type { BdsNode } from "../graph.js";
import { ImageRefusedAfterCreateError, ImageSpecError } from "../images/image-errors.js";
import { writeImage } from "../images/write-image.js";
import { bdrvRef } from "../graph-ops.js";
import type { LayerState } from "../layer-state.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { nodeLength } from "../node-length.js";
import { NodeOpener } from "../open-node.js";
import { optBool } from "../options.js";
import { BLK_PERM_RESIZE, BLK_PERM_WRITE, permMessageName } from "../perms.js";
import { FilenameCache } from "../query/filename.js";
import { fail } from "../qmp-failure.js";
import { runInTransaction } from "../transaction.js";
import { isDriver } from "../../../qapi/blockdev-schema.js";
import { externalSnapshotAction } from "./blockdev-snapshot.js";
import type { CommandHandler } from "./handler.js";
import { type BlkAction, type CompletionMode, runBlkActions } from "./transaction-actions.js";

type Args = Record<string, unknown>;

export const blockdevSnapshotSync: CommandHandler = (state, args) => {
  runBlkActions(state, [() => externalSnapshotSync(state, args, "individual")]);
  return {};
};

/** The `blockdev-snapshot-sync` action. */
export function externalSnapshotSync(state: LayerState, args: Args, mode: CompletionMode): BlkAction {
  const str = (key: string) => (typeof args[key] === "string" ? (args[key] as string) : undefined);
  const device = str("device");
  const nodeName = str("node-name");
  return externalSnapshotAction(state, mode, {
    type: "blockdev-snapshot-sync",
    // bdrv_lookup_bs(device, node_name): a device is a named BlockBackend, which none of the
    // engine's processes has, so only the node name can find anything.
    lookup: () =>
      (nodeName === undefined ? undefined : state.nodes.get(nodeName)) ?? fail(`Cannot find device='${device ?? ""}' nor node-name='${nodeName ?? ""}'`),
    openOverlay: (oldBs) => ({ bs: openSyncOverlay(state, args, oldBs, nodeName !== undefined), owned: true }),
  });
}

function openSyncOverlay(state: LayerState, args: Args, oldBs: BdsNode, byNodeName: boolean): BdsNode {
  const file = String(args["snapshot-file"]);
  const format = typeof args["format"] === "string" ? args["format"] : "qcow2";
  const overlayName = typeof args["snapshot-node-name"] === "string" ? args["snapshot-node-name"] : undefined;
  if (byNodeName && overlayName === undefined) fail("New overlay node-name missing");
  if (overlayName !== undefined && state.nodes.has(overlayName)) fail("New overlay node-name already in use");
  if (args["mode"] !== "existing") createOverlayImage(state, file, format, oldBs);
  const held = state.aio.of(oldBs);
  return runInTransaction((tran) => {
    const bs = new NodeOpener(state, tran, held).open({
      // qdict_put_str order: the node name, then the driver; `backing: null` is BDRV_O_NO_BACKING,
      // which bdrv_open_inherit turns the same way into no backing file and no option.
      options: { ...(overlayName !== undefined ? { "node-name": overlayName } : {}), driver: format, backing: null },
      parent: null,
      parentOptions: null,
      role: 0,
      filename: file,
      // The node's open flags, less BDRV_O_SNAPSHOT and BDRV_O_COPY_ON_READ, plus BDRV_O_NO_BACKING.
      flags: {
        options: {
          "cache.direct": optBool(oldBs.options["cache.direct"]),
          "cache.no-flush": optBool(oldBs.options["cache.no-flush"]),
          "read-only": oldBs.readOnly,
          "auto-read-only": optBool(oldBs.options["auto-read-only"]),
        },
        unmap: oldBs.unmap,
      },
    });
    bdrvRef(bs);
    return bs;
  });
}

/** Formats that take a backing file, whose images the model writes. */
const WRITES_WITH_BACKING = new Set(["qcow2", "qcow", "qed"]);
/** Formats QEMU 7.2 creates, with no backing file among their creation options. */
const NO_BACKING = new Set(["raw", "file", "luks", "parallels", "vdi", "vpc", "vhdx"]);
/** Drivers without creation options (drv->create_opts NULL). */
const NO_CREATION = new Set([
  "blkdebug",
  "blklogwrites",
  "blkverify",
  "compress",
  "copy-before-write",
  "copy-on-read",
  "nbd",
  "null-aio",
  "null-co",
  "preallocate",
  "quorum",
  "throttle",
]);

/**
 * `bdrv_img_create(file, format, old_bs->filename, old_bs->drv->format_name, NULL, size,
 * flags | BDRV_O_NO_BACKING)`: the checks in its order, then the protocol's creation (file-posix
 * `raw_co_create`: create, lock, check the locks, truncate) and the format's.
 */
function createOverlayImage(state: LayerState, file: string, format: string, oldBs: BdsNode): void {
  const size = nodeLength(oldBs);
  const backingFile = new FilenameCache().filename(oldBs);
  if (!isDriver(format)) fail(`Unknown file format '${format}'`);
  if (NO_CREATION.has(format)) fail(`Format driver '${format}' does not support image creation`);
  if (NO_BACKING.has(format)) fail(`Backing file not supported for file format '${format}'`);
  // vmdk_co_do_create opens the backing file for its CID, under the locks of the node open on it.
  if (format === "vmdk") throw new ModelUnsupportedError("a vmdk overlay of blockdev-snapshot-sync");
  if (!WRITES_WITH_BACKING.has(format)) throw new ModelUnsupportedError(`creating a ${format} image`);
  if (file === backingFile) fail("Error: Trying to create an image with the same filename as the backing file");
  if (backingFile === "") fail("Expected backing file name, got empty string");
  const absPath = resolve(state.workdir, file);
  createProtocolFile(state, file, absPath);
  const spec = { path: relative(state.workdir, absPath), format, size, backingFile, backingFormat: oldBs.driver.name };
  try {
    writeImage(absPath, spec, state.hostFiles, false);
  } catch (e) {
    if (e instanceof ImageSpecError || e instanceof ImageRefusedAfterCreateError) throw new ModelUnsupportedError(`this ${format} overlay (${e.message})`);
    throw e;
  }
}

/**
 * What open(2) says of O_CREAT at `file`: an errno, or undefined when the file can be made. The
 * kernel walks the name as written, so `missing/..` is missing, not the directory it would name.
 */
function createErrno(state: LayerState, file: string): string | undefined {
  const parts = file.split("/");
  const last = parts.pop()!;
  let dir = isAbsolute(file) ? "/" : state.workdir;
  for (const part of parts) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      dir = dirname(dir);
      continue;
    }
    dir = join(dir, part);
    const kind = kindAt(state, dir);
    if (kind === undefined) return "ENOENT";
    if (kind === "file") return "ENOTDIR";
  }
  if (last === "" || last === "." || last === ".." || kindAt(state, join(dir, last)) === "directory") return "EISDIR";
  return undefined;
}

/** What is at a path: the model's files and directories first, then the disk. */
function kindAt(state: LayerState, absPath: string): "file" | "directory" | undefined {
  const entry = state.hostFiles.entry(absPath);
  if (entry.kind !== "disk") return entry.kind;
  return diskKind(absPath);
}

function diskKind(absPath: string): "file" | "directory" | undefined {
  try {
    return statSync(absPath).isDirectory() ? "directory" : "file";
  } catch {
    return undefined;
  }
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: "No such file or directory",
  EISDIR: "Is a directory",
  ENOTDIR: "Not a directory",
};

/**
 * file-posix `raw_co_create`: `qemu_create` (open with O_CREAT), the locks of a writer that may
 * resize and shares all but resizing, checked against the other nodes on the file (OFD locks
 * conflict inside one process too), wanted perms first; only then is the file truncated.
 */
function createProtocolFile(state: LayerState, file: string, absPath: string): void {
  const errno = createErrno(state, file);
  if (errno !== undefined) fail(`Could not create '${file}': ${ERRNO_TEXT[errno]}`);
  const perm = BLK_PERM_WRITE | BLK_PERM_RESIZE;
  const unshared = BLK_PERM_RESIZE;
  const others = state.locksFor(absPath).others([0, 0]);
  for (let i = 0; i < 4; i++) {
    if (perm & others.unshared & (1 << i)) fail(`Failed to get "${permMessageName(i)}" lock`);
  }
  for (let i = 0; i < 4; i++) {
    if (unshared & others.held & (1 << i)) fail(`Failed to get shared "${permMessageName(i)}" lock`);
  }
}
