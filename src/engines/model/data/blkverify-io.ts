/**
 * blkverify's data path (block/blkverify.c): every read and write goes to the `test` child, then
 * to `raw` (the reference); if their return values differ, or a read's data does, QEMU prints what
 * differs and exits with status 1 (blkverify_err). Reads answer with the test child's data.
 */
import type { DriverHost, ReadAtZero } from "../drivers/driver.js";
import { type BdsNode, type Child, filteredChild } from "../graph.js";
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
  if (interleavedFile(test.bs, raw.bs) !== undefined) {
    throw new ModelIoUnsupportedError(
      `a write through blkverify whose children '${test.bs.name}' and '${raw.bs.name}' reach one host file, one with metadata of its own (QEMU interleaves the two writes where each waits for I/O)`,
    );
  }
  const r = prwv(true, offset, data.length, () => bdrvPwritev(host, test.bs, offset, data, flags, test), () => bdrvPwritev(host, raw.bs, offset, data, flags, raw));
  if (r.ret < 0) throw new IoError(-r.ret);
}

/**
 * QEMU runs the two requests as coroutines, test first, each going on while the other waits for
 * I/O; the model runs one after the other. That gives the same bytes unless both reach one host
 * file and one of them writes metadata there: two qcow2 nodes over one image each allocate from
 * the refcounts they read, which the other may have written in between, or not. The shared file,
 * then, else undefined.
 */
function interleavedFile(test: BdsNode, raw: BdsNode): string | undefined {
  const below = hostFilesBelow(raw);
  const shared = [...hostFilesBelow(test)].find((f) => below.has(f));
  if (shared === undefined) return undefined;
  const plain = [plainHostFile(test), plainHostFile(raw)];
  return plain[0] === shared && plain[1] === shared ? undefined : shared;
}

/** Every host file in the subtree of `node`. */
function hostFilesBelow(node: BdsNode): Set<string> {
  const out = new Set<string>();
  const seen = new Set<BdsNode>();
  const stack = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    const at = n.driver.name === "file" ? n.driver.readAtZero?.(n) : undefined;
    if (at && "hostFile" in at) out.add(at.hostFile);
    for (const c of n.children) stack.push(c.bs);
  }
  return out;
}

/** The host file `node` writes to as it is, through window-less raw nodes and plain filters; else null. */
function plainHostFile(node: BdsNode): string | null {
  for (let n: BdsNode | undefined = node; n; ) {
    if (n.driver.name === "file") {
      const at = n.driver.readAtZero?.(n);
      return at && "hostFile" in at ? at.hostFile : null;
    }
    if (!PLAIN.has(n.driver.name)) return null;
    const next: ReadAtZero = n.driver.readAtZero ? n.driver.readAtZero(n) : { node: filteredChild(n)!.bs };
    n = next && "node" in next ? next.node : undefined;
  }
  return null;
}

/** Drivers that pass a write to their one child as it is, at the same offset (raw: without a window). */
const PLAIN = new Set(["raw", "throttle", "copy-on-read", "blkdebug"]);
