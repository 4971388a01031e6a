/**
 * file-posix's `raw_co_create` (blockdev-create with driver `file`): the file is created if need
 * be, locked for writing and resizing, checked against the lock bytes other descriptors hold,
 * truncated to nothing and then to its size with the preallocation asked for.
 */
import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Data } from "../data/data.js";
import { EXT4_MAX_FILE_SIZE, type HostFile } from "../data/host-file.js";
import { Errno } from "../data/io-error.js";
import type { LayerState } from "../layer-state.js";
import { BLK_PERM_RESIZE, BLK_PERM_WRITE, permMessageName } from "../perms.js";
import { createFail } from "./create-failure.js";
import { int64Of, uint64Of } from "./qapi-sizes.js";

const UINT32_MAX = 2n ** 32n - 1n;
const EISDIR = 21;
const EAGAIN = 11;
/** allocate_first_block's write: MAX_BLOCKSIZE, or a sector for a file shorter than that. */
const FIRST_BLOCK = 4096;

export function fileCreate(state: LayerState, opts: Record<string, unknown>): void {
  const filename = String(opts["filename"]);
  // The size goes to raw_regular_truncate as an int64_t offset: 2^63 and up are negative there.
  const size = Number(int64Of(opts["size"]));
  const prealloc = (opts["preallocation"] as string | undefined) ?? "off";
  if (opts["extent-size-hint"] !== undefined && uint64Of(opts["extent-size-hint"]) > UINT32_MAX) createFail("Extent size hint is too large", Errno.EINVAL);

  const file = openCreate(state, filename);
  // raw_check_lock_bytes: WRITE and RESIZE taken, RESIZE alone not shared (the size is promised).
  const perm = BLK_PERM_WRITE | BLK_PERM_RESIZE;
  const unshared = BLK_PERM_RESIZE;
  const others = state.fileLocks.get(resolve(state.workdir, filename))?.others([0, 0]);
  if (others) {
    for (let i = 0; i < 4; i++) if (perm & (1 << i) && others.unshared & (1 << i)) createFail(`Failed to get "${permMessageName(i)}" lock`, EAGAIN);
    for (let i = 0; i < 4; i++) if (unshared & (1 << i) && others.held & (1 << i)) createFail(`Failed to get shared "${permMessageName(i)}" lock`, EAGAIN);
  }
  file.truncate(0);
  regularTruncate(file, size, prealloc);
}

/** `qemu_create(filename, O_RDWR)`: the file there, or a new empty one. */
function openCreate(state: LayerState, filename: string): HostFile {
  const absPath = resolve(state.workdir, filename);
  const files = state.hostFiles;
  const entry = files.entry(absPath);
  if (entry.kind === "file") return entry.file;
  const cannot = (text: string, errno: number): never => createFail(`Could not create '${filename}': ${text}`, errno);
  if (entry.kind === "directory") cannot("Is a directory", EISDIR);
  const onDisk = statOrUndefined(absPath);
  if (onDisk?.isDirectory()) cannot("Is a directory", EISDIR);
  if (onDisk) return files.get(absPath);
  const parent = dirname(absPath);
  if (files.entry(parent).kind !== "directory" && !statOrUndefined(parent)?.isDirectory()) cannot("No such file or directory", Errno.ENOENT);
  return files.create(absPath);
}

function statOrUndefined(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** `raw_regular_truncate` → `handle_aiocb_truncate` on an empty file. */
function regularTruncate(file: HostFile, size: number, prealloc: string): void {
  if (size < 0) {
    if (prealloc !== "off") createFail("Cannot use preallocation for shrinking files", Errno.ENOTSUP);
    // ftruncate(2) of a negative length.
    createFail("Could not resize file: Invalid argument", Errno.EINVAL);
  }
  const firstBlock = () => {
    if (size > 0) file.write(0, Data.zeros(size < FIRST_BLOCK ? 512 : FIRST_BLOCK));
  };
  switch (prealloc) {
    case "off":
      if (size > EXT4_MAX_FILE_SIZE) createFail("Could not resize file: File too large", Errno.EFBIG);
      file.truncate(size);
      firstBlock();
      return;
    case "falloc":
      if (size > EXT4_MAX_FILE_SIZE) createFail("Could not preallocate new data: File too large", Errno.EFBIG);
      if (size > 0) {
        if (file.allocate) file.allocate(0, size);
        else file.write(0, Data.zeros(size));
      }
      firstBlock();
      return;
    case "full":
      if (size > EXT4_MAX_FILE_SIZE) createFail("Could not resize file: File too large", Errno.EFBIG);
      file.truncate(size);
      file.write(0, Data.zeros(size));
      file.sync?.();
      return;
    default:
      createFail(`Unsupported preallocation mode: ${prealloc}`, Errno.ENOTSUP);
  }
}
