/**
 * zlib compression of one cluster as block/qcow2-threads.c does it: raw deflate (no header) with a
 * 4 KiB window (`deflateInit2(Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY)`), into
 * at most `cluster_size - 1` bytes; inflating must give back a whole cluster.
 */
import { constants, deflateRawSync, inflateRawSync } from "node:zlib";

/** `qcow2_zlib_compress`: the compressed bytes, or null when they do not fit in `destSize` (-ENOMEM). */
export function deflateCluster(src: Buffer, destSize: number): Buffer | null {
  const out = deflateRawSync(src, { level: constants.Z_DEFAULT_COMPRESSION, windowBits: 12, memLevel: 9, strategy: constants.Z_DEFAULT_STRATEGY });
  return out.length <= destSize ? out : null;
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
