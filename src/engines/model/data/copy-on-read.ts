/**
 * `bdrv_co_do_copy_on_readv` (block/io.c): a read that must copy what it reads into the node it
 * reads from. Whole clusters of that node are read (through its backing chain) and written back
 * into it where it does not hold them yet — zeros as a zero write, data as a write that changes
 * nothing the guest sees (BDRV_REQ_WRITE_UNCHANGED) — and the caller gets its part of them.
 */
import type { DriverHost } from "../drivers/driver.js";
import type { BdsNode } from "../graph.js";
import { bdrvGetInfo } from "../query/named-nodes.js";
import { bdrvDebugEvent, doPwriteZeroes, driverPreadv, driverPwritev } from "./block-io.js";
import { bdrvIsAllocated } from "./block-status.js";
import { Data } from "./data.js";
import { ModelIoUnsupportedError } from "./io-error.js";
import { qemuErrorAbort } from "../qemu-would-crash.js";
import { BDRV_REQ_PREFETCH, BDRV_REQ_WRITE_UNCHANGED, BDRV_REQUEST_MAX_BYTES } from "./request-flags.js";

/** MAX_BOUNCE_BUFFER: what one copy step reads at most. */
const MAX_BOUNCE_BUFFER = 32768 << 9;

/** `bdrv_round_to_clusters`: the request widened to whole clusters of `bs` (if it has clusters). */
function roundToClusters(bs: BdsNode, offset: number, bytes: number): { offset: number; bytes: number } {
  const cluster = bdrvGetInfo(bs)?.clusterSize ?? 0;
  if (cluster === 0) return { offset, bytes };
  const start = Math.floor(offset / cluster) * cluster;
  return { offset: start, bytes: Math.ceil((offset + bytes) / cluster) * cluster - start };
}

export function copyOnReadv(host: DriverHost, bs: BdsNode, offset: number, bytes: number, flags: number): Data {
  const round = roundToClusters(bs, offset, bytes);
  let clusterOffset = round.offset;
  let clusterBytes = round.bytes;
  let skip = offset - clusterOffset;
  let progress = 0;
  const out: Data[] = [];
  while (clusterBytes > 0) {
    const a = bdrvIsAllocated(host, bs, clusterOffset, Math.min(clusterBytes, BDRV_REQUEST_MAX_BYTES));
    let pnum = a.pnum;
    // The image ends inside the cluster.
    if (!a.allocated && pnum === 0) break;
    const want = Math.min(pnum - skip, bytes - progress);
    if (!a.allocated) {
      pnum = Math.min(pnum, MAX_BOUNCE_BUFFER);
      const read = driverPreadv(host, bs, clusterOffset, pnum, 0);
      // A driver that leaves the buffer alone (null-co without read-zeroes) leaves QEMU's bounce
      // buffer uninitialised, and that is what QEMU copies up and returns.
      if (read.segments.some((seg) => seg.kind === "untouched")) throw new ModelIoUnsupportedError(`copy-on-read from a '${bs.driver.name}' node that leaves the bounce buffer uninitialised`);
      const copied = read;
      bdrvDebugEvent(bs, "cor_write");
      if (bs.driver.pwriteZeroes && copied.isZero()) doPwriteZeroes(host, bs, clusterOffset, pnum, BDRV_REQ_WRITE_UNCHANGED);
      else driverPwritev(host, bs, clusterOffset, copied, BDRV_REQ_WRITE_UNCHANGED);
      if (!(flags & BDRV_REQ_PREFETCH)) out.push(copied.slice(skip, Math.min(pnum - skip, bytes - progress)));
    } else if (!(flags & BDRV_REQ_PREFETCH)) {
      // The loop goes on through the rounded clusters after the request is covered; there
      // `bytes - progress` is negative, and bdrv_driver_preadv checks it with &error_abort.
      if (want < 0) qemuErrorAbort({ file: "../../block/io.c", line: 976, func: "bdrv_check_qiov_request" }, `bytes is negative: ${want}`);
      out.push(driverPreadv(host, bs, offset + progress, want, 0));
    }
    clusterOffset += pnum;
    clusterBytes -= pnum;
    progress += pnum - skip;
    skip = 0;
  }
  const got = Data.concat(out);
  return got.length >= bytes ? got.slice(0, bytes) : Data.concat([got, Data.untouched(bytes - got.length)]);
}
