/**
 * Parallels writes (block/parallels.c `parallels_co_writev`, `allocate_clusters`): where the BAT has
 * no cluster, clusters are taken at `data_end`, the file first grown past it by the clusters and
 * 128 MiB more (zeros written: prealloc-mode falloc and prealloc-size 128M, the defaults of
 * parallels_runtime_opts, are all blockdev-add gives), the backing file's data copied into them,
 * and the BAT entries set in memory;
 * they reach the file at the next flush (`parallels_co_flush_to_os`), in blocks of four host pages.
 */
import { bdrvPreadv, bdrvPwritev } from "../data/block-io.js";
import { Data } from "../data/data.js";
import { ModelIoUnsupportedError } from "../data/io-error.js";
import { BDRV_REQ_ZERO_WRITE } from "../data/request-flags.js";
import type { BdsNode, Child } from "../graph.js";
import { batEntryOff, PARALLELS_HEADER_SIZE } from "../images/parallels-format.js";
import { nodeLength } from "../node-length.js";
import type { DriverHost } from "./driver.js";
import { parallelsBlockStatusSectors, type ParallelsBat } from "./parallels-bat.js";

/** prealloc-size's default. */
const PREALLOC_SIZE = 128 * 1024 * 1024;
/** s->bat_dirty_block: four host pages. */
const BAT_DIRTY_BLOCK = 4 * 4096;

/** BDRVParallelsState as writes see it. */
export interface ParallelsWriteState extends ParallelsBat {
  /** s->header: the header and BAT (s->header_size bytes); BAT entries are kept in it too. */
  header: Buffer;
  /** s->data_end, in sectors. */
  dataEnd: number;
  /** s->bat_size. */
  batSize: number;
  /** s->bat_dirty_bmap: blocks of the header to write at the next flush. */
  dirty: Set<number>;
}

/** `allocate_clusters`: where `sector` is in the file, and for how many sectors from there. Errors are IoError. */
function allocateClusters(host: DriverHost, file: Child, backing: BdsNode | null, s: ParallelsWriteState, sector: number, nbSectors: number): { pos: number; n: number } {
  const { start, pnum } = parallelsBlockStatusSectors(s, sector, nbSectors);
  if (start > 0) return { pos: start, n: pnum };
  const idx = Math.floor(sector / s.tracks);
  const toAllocate = Math.ceil((sector + pnum) / s.tracks) - idx;
  if (idx + toAllocate > s.bat.length) throw new ModelIoUnsupportedError("a parallels write to a cluster whose BAT entry lies past the header QEMU read");
  let space = toAllocate * s.tracks;
  if (s.dataEnd + space > Math.floor(nodeLength(file.bs) / 512)) {
    // s->prealloc_size: 128 MiB, at least a cluster.
    space += Math.max(s.tracks, PREALLOC_SIZE / 512);
    bdrvPwritev(host, file.bs, s.dataEnd * 512, Data.zeros(space * 512), BDRV_REQ_ZERO_WRITE, file);
  }
  if (backing) {
    const bytes = toAllocate * s.tracks * 512;
    const data = bdrvPreadv(host, backing, idx * s.tracks * 512, bytes);
    bdrvPwritev(host, file.bs, s.dataEnd * 512, data, 0, file);
  }
  for (let i = 0; i < toAllocate; i++) {
    const entry = Math.floor(s.dataEnd / s.offMultiplier) >>> 0;
    s.bat[idx + i] = entry;
    s.header.writeUInt32LE(entry, PARALLELS_HEADER_SIZE + 4 * (idx + i));
    s.dataEnd += s.tracks;
    s.dirty.add(Math.floor(batEntryOff(idx + i) / BAT_DIRTY_BLOCK));
  }
  return { pos: s.bat[idx]! * s.offMultiplier + (sector % s.tracks), n: pnum };
}

/** `parallels_co_writev` (requests arrive in whole sectors). */
export function parallelsPwritev(host: DriverHost, file: Child, backing: BdsNode | null, s: ParallelsWriteState, offset: number, data: Data): void {
  let sector = offset / 512;
  let left = data.length / 512;
  let done = 0;
  while (left > 0) {
    const { pos, n } = allocateClusters(host, file, backing, s, sector, left);
    bdrvPwritev(host, file.bs, pos * 512, data.slice(done, n * 512), 0, file);
    sector += n;
    left -= n;
    done += n * 512;
  }
}

/** `parallels_co_flush_to_os`: each dirty block of the header, in order; all are clean once every one is written. */
export function parallelsFlushToOs(host: DriverHost, file: Child, s: ParallelsWriteState): void {
  for (const bit of [...s.dirty].sort((a, b) => a - b)) {
    const off = bit * BAT_DIRTY_BLOCK;
    const len = Math.min(BAT_DIRTY_BLOCK, s.header.length - off);
    bdrvPwritev(host, file.bs, off, Data.bytes(Buffer.from(s.header.subarray(off, off + len))), 0, file);
  }
  s.dirty.clear();
}
