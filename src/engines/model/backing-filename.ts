/**
 * `bdrv_dirname` and `bdrv_get_full_backing_filename`: a relative backing file name from an image
 * header is relative to the directory of the image's protocol node, found down the primary children
 * (a qcow2 over blkdebug over a file finds its backing file beside that file).
 */
import { isAbsolute } from "node:path";
import { type BdsNode, primaryChild } from "./graph.js";
import { fail } from "./qmp-failure.js";
import { FilenameCache } from "./query/filename.js";

/** `path_combine(exact, "")`: everything up to the last '/', or past a "proto:" prefix. */
function directoryOf(exact: string): string {
  const slash = exact.lastIndexOf("/");
  if (slash >= 0) return exact.slice(0, slash + 1);
  const colon = exact.indexOf(":");
  return colon >= 0 ? exact.slice(0, colon + 1) : "";
}

/**
 * `bdrv_dirname`: the driver's `.bdrv_dirname`, else the primary child's directory, else the
 * directory of the node's exact filename. Throws QmpFailure when there is none.
 */
export function bdrvDirname(node: BdsNode, names: FilenameCache = new FilenameCache()): string {
  let n = node;
  for (;;) {
    if (n.driver.dirname) return n.driver.dirname(n);
    const primary = primaryChild(n);
    if (!primary) break;
    n = primary.bs;
  }
  const exact = names.exactFilename(n);
  if (exact === "") fail(`Cannot generate a base directory for ${n.driver.name} nodes`);
  return directoryOf(exact);
}

/** `path_has_protocol`: a colon before any slash ("json:{…}", "nbd:…", "file:…"). */
export function pathHasProtocol(path: string): boolean {
  return /^[^/:]*:/.test(path);
}

/**
 * `bdrv_make_absolute_filename(node, backing)`: relative names go beside the image; an absolute
 * name, or one with a protocol prefix, is taken as it is. Throws QmpFailure.
 */
export function fullBackingFilename(node: BdsNode, backing: string, names?: FilenameCache): string {
  return isAbsolute(backing) || pathHasProtocol(backing) ? backing : bdrvDirname(node, names) + backing;
}
