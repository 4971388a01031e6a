/**
 * A file's stat fields, kept beside the hash of its bytes, so that a later run can tell the file is
 * unchanged from one `stat` instead of reading and hashing it (git's index and ccache do the same).
 *
 * A stamp stands for the bytes only if no later write can leave it as it was. A write sets mtime
 * and ctime to the current time in the filesystem's granularity (a second on some), so a file
 * written again within that granularity of the read keeps its mtime, and a tool that restores
 * mtime (cp -p, tar, rsync -t) still moves ctime and often the inode. So a stamp is kept only for a
 * file whose mtime and ctime are older than the run's start by SETTLED_MS, and it compares size,
 * mtime, ctime and inode; a file saved within the last seconds is read and hashed every time.
 */
import type { Stats } from "node:fs";

/** [size, mtimeMs, ctimeMs, ino]. */
export type FileStamp = [number, number, number, number];

/** Past every filesystem's timestamp granularity (FAT's 2 s) and the clocks' small skew. */
export const SETTLED_MS = 3000;

/** The stamp of `st`, or undefined while a write could still leave it unchanged. */
export function stampOf(st: Stats, settledBefore: number): FileStamp | undefined {
  if (st.mtimeMs >= settledBefore || st.ctimeMs >= settledBefore) return undefined;
  return [st.size, st.mtimeMs, st.ctimeMs, st.ino];
}

/** Whether `st` is what `stamp` (as kept, so perhaps damaged) says. */
export function sameStamp(st: Stats, stamp: unknown): boolean {
  return isStamp(stamp) && st.size === stamp[0] && st.mtimeMs === stamp[1] && st.ctimeMs === stamp[2] && st.ino === stamp[3];
}

export function equalStamps(a: FileStamp, b: unknown): boolean {
  return isStamp(b) && a.every((x, i) => x === b[i]);
}

function isStamp(v: unknown): v is FileStamp {
  return Array.isArray(v) && v.length === 4 && v.every((x) => typeof x === "number");
}
