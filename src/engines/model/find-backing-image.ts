/**
 * `bdrv_find_backing_image` (block.c): the node in `bs`'s backing chain that a backing file name
 * (as block-commit's `top`/`base` and block-stream's `base` give it) stands for. Filters are
 * skipped (their names are no file names). Where an overlay's backing was given explicitly
 * (overridden), only the backing node's filename matches; otherwise the names are compared as
 * canonical absolute paths, relative names taken beside the overlay's image, as QEMU does.
 */
import { isAbsolute, resolve } from "node:path";
import { bdrvDirname } from "./backing-filename.js";
import type { HostFiles } from "./data/host-file.js";
import { backingChainNext, cowChild, skipFilters } from "./chain.js";
import type { BdsNode } from "./graph.js";
import { QmpFailure } from "./qmp-failure.js";
import { FilenameCache } from "./query/filename.js";

/** `path_has_protocol`: "proto:" before any '/'. */
function pathHasProtocol(path: string): boolean {
  const m = /[:/]/.exec(path);
  return m !== null && m[0] === ":";
}

/** `bdrv_make_absolute_filename`, or null where QEMU gets none (empty name, no directory). */
function makeAbsolute(relativeTo: BdsNode, filename: string, names: FilenameCache): string | null {
  if (filename === "") return null;
  if (pathHasProtocol(filename) || isAbsolute(filename)) return filename;
  try {
    return bdrvDirname(relativeTo, names) + filename;
  } catch (e) {
    if (e instanceof QmpFailure) return null;
    throw e;
  }
}

/** realpath(3) in QEMU's working directory (the engine's workdir), over the engine's host files. */
function realpath(workdir: string, files: HostFiles, path: string | null): string | null {
  return path === null ? null : files.realpath(resolve(workdir, path));
}

/** `bdrv_backing_overridden`. */
function backingOverridden(bs: BdsNode, names: FilenameCache): boolean {
  const backing = cowChild(bs);
  return backing ? bs.autoBackingFile !== names.filename(backing.bs) : bs.autoBackingFile !== "";
}

export function findBackingImage(workdir: string, files: HostFiles, bs: BdsNode, backingFile: string): BdsNode | null {
  const names = new FilenameCache();
  const isProtocol = pathHasProtocol(backingFile);
  for (let curr = skipFilters(bs); curr && cowChild(curr); ) {
    const below = backingChainNext(curr);
    if (backingOverridden(curr, names)) {
      if (below && backingFile === names.filename(below)) return below;
    } else if (isProtocol || pathHasProtocol(curr.backingFile)) {
      if (backingFile === curr.backingFile) return below;
      if (backingFile === makeAbsolute(curr, curr.backingFile, names)) return below;
    } else {
      const wanted = realpath(workdir, files, makeAbsolute(curr, backingFile, names));
      const have = wanted === null ? null : realpath(workdir, files, makeAbsolute(curr, curr.backingFile, names));
      if (wanted !== null && have !== null && wanted === have) return below;
    }
    curr = below;
  }
  return null;
}
