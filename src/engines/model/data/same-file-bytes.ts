/**
 * Whether host files hold the same bytes, for drivers that compare what their children read
 * (quorum's vote, blkverify) when an image header is read through them: the model reads headers
 * from host files (in memory, or on disk), which hold every write the model made.
 */
import type { HostFiles } from "./host-file.js";

const CHUNK = 1 << 20;

/** True when every file has the same length and bytes as the first. */
export function sameFileBytes(files: HostFiles, paths: readonly string[]): boolean {
  if (paths.length < 2 || paths.every((p) => p === paths[0])) return true;
  const all = paths.map((p) => files.get(p));
  const size = all[0]!.length;
  if (all.some((f) => f.length !== size)) return false;
  for (let pos = 0; pos < size; pos += CHUNK) {
    const n = Math.min(CHUNK, size - pos);
    const first = all[0]!.read(pos, n).toBuffer();
    if (all.some((f) => !f.read(pos, n).toBuffer().equals(first))) return false;
  }
  return true;
}
