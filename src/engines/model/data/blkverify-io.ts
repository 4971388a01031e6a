/**
 * blkverify's data path (block/blkverify.c): every read and write goes to the `test` child, then
 * to `raw` (the reference); if their return values differ, or a read's data does, QEMU prints what
 * differs and exits with status 1 (blkverify_err). Reads answer with the test child's data.
 */
import type { DriverHost } from "../drivers/driver.js";
import type { BdsNode, Child } from "../graph.js";
import { qemuExit } from "../qemu-would-crash.js";
import { bdrvPreadv, bdrvPwritev } from "./block-io.js";
import type { Data } from "./data.js";
import { IoError, ModelIoUnsupportedError } from "./io-error.js";

/** The two requests' outcomes: 0 or -errno, and what a read gave. */
function run<T>(request: () => T): { ret: number; value?: T } {
  try {
    return { ret: 0, value: request() };
  } catch (e) {
    if (e instanceof IoError) return { ret: -e.errno };
    throw e;
  }
}

/** `blkverify_err`: "blkverify: read offset=… bytes=… " and the finding, then exit(1). */
function mismatch(isWrite: boolean, offset: number, bytes: number, finding: string): never {
  return qemuExit(1, `blkverify: ${isWrite ? "write" : "read"} offset=${offset} bytes=${bytes} ${finding}`);
}

/** `blkverify_co_prwv`: test first, then raw; their return values must agree. */
function prwv<T>(isWrite: boolean, offset: number, bytes: number, test: () => T, raw: () => T): { ret: number; test?: T; raw?: T } {
  const t = run(test);
  const r = run(raw);
  if (t.ret !== r.ret) mismatch(isWrite, offset, bytes, `return value mismatch ${t.ret} != ${r.ret}`);
  return { ret: t.ret, test: t.value, raw: r.value };
}

/** `blkverify_co_preadv`: both read, and their bytes are compared. */
export function blkverifyPreadv(host: DriverHost, test: BdsNode, raw: BdsNode, offset: number, bytes: number, flags: number): Data {
  const r = prwv(false, offset, bytes, () => bdrvPreadv(host, test, offset, bytes, flags), () => bdrvPreadv(host, raw, offset, bytes, flags));
  // Failed reads leave both buffers as they were, and QEMU still compares them.
  if (r.ret < 0) throw new ModelIoUnsupportedError("a failed read through blkverify (QEMU compares the buffers the reads left)");
  const t = r.test!;
  const w = r.raw!;
  if ([t, w].some((d) => d.segments.some((s) => s.kind === "untouched"))) {
    throw new ModelIoUnsupportedError("a blkverify read a child left uninitialised (QEMU compares whatever its buffers held)");
  }
  const a = t.toBuffer();
  const b = w.toBuffer();
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) mismatch(false, offset, bytes, `contents mismatch at offset ${offset + i}`);
  return t;
}

/** `blkverify_co_pwritev`: the same write to both. */
export function blkverifyPwritev(host: DriverHost, test: Child, raw: Child, offset: number, data: Data, flags: number): void {
  const r = prwv(true, offset, data.length, () => bdrvPwritev(host, test.bs, offset, data, flags, test), () => bdrvPwritev(host, raw.bs, offset, data, flags, raw));
  if (r.ret < 0) throw new IoError(-r.ret);
}
