/**
 * QEMU's log: its stdout and stderr share one append-mode file, so their order is kept and every byte
 * QEMU writes is on disk before QEMU does anything else (a QMP reply included). That lets io
 * attribute output to a command by file offset, and lets errors quote the tail.
 */
import { statSync } from "node:fs";
import { open, stat } from "node:fs/promises";

/** Current size of the log in bytes (0 if it does not exist). */
export async function logSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** logSize, synchronously: one stat where a promise round trip would cost more than the call. */
export function logLength(path: string): number {
  return statSync(path, { throwIfNoEntry: false })?.size ?? 0;
}

/** The bytes of the log from `offset` to its current end, as text. */
export async function readLogFrom(path: string, offset: number): Promise<string> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch {
    return "";
  }
  try {
    const { size } = await handle.stat();
    if (size <= offset) return "";
    const buffer = Buffer.alloc(size - offset);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    return buffer.subarray(0, bytesRead).toString("utf8");
  } finally {
    await handle.close();
  }
}

/** The last `maxLines` lines (at most `maxBytes`) of the log, for error messages. */
export async function logTail(path: string, maxLines = 20, maxBytes = 8192): Promise<string> {
  const size = await logSize(path);
  const text = await readLogFrom(path, Math.max(0, size - maxBytes));
  return text.split("\n").slice(-maxLines - 1).join("\n");
}
