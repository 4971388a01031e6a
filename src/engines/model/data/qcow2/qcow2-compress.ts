/**
 * zlib compression of one cluster as block/qcow2-threads.c does it: raw deflate (no header) with a
 * 4 KiB window (`deflateInit2(Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY)`), into
 * at most `cluster_size - 1` bytes; inflating must give back a whole cluster.
 *
 * The deflate is pako 2's, a port of zlib 1.2: its output is byte for byte that of the zlib QEMU
 * links (Debian 12's 1.2.13). Node's own zlib (Chromium's fork) chooses other matches, so its
 * compressed clusters differ in length, and with them where the next one goes.
 */
import { constants, inflateRawSync } from "node:zlib";
import { deflateRaw } from "pako";

/** `qcow2_zlib_compress`: the compressed bytes, or null when they do not fit in `destSize` (-ENOMEM). */
export function deflateCluster(src: Buffer, destSize: number): Buffer | null {
  // Z_DEFAULT_COMPRESSION, Z_DEFAULT_STRATEGY.
  const out = deflateRaw(src, { level: -1, windowBits: 12, memLevel: 9, strategy: 0 });
  return out.length <= destSize ? Buffer.from(out.buffer, out.byteOffset, out.length) : null;
}

/** `qcow2_zlib_decompress`: exactly `clusterSize` bytes out of `src` (which may carry sector padding), or null. */
export function inflateCluster(src: Buffer, clusterSize: number): Buffer | null {
  try {
    const out = inflateRawSync(src, { windowBits: 12, finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: clusterSize });
    return out.length === clusterSize ? out : null;
  } catch {
    return null;
  }
}
