/**
 * Parallels' block allocation table lookups (block/parallels.c `seek_to_sector`, `block_status`) and
 * the reads and block status built on them (`parallels_co_readv`, `parallels_co_block_status`), in
 * sectors as QEMU counts. Writes (parallels-write.ts) change the BAT in memory.
 */
import { bdrvPreadv } from "../data/block-io.js";
import { Data } from "../data/data.js";
import { BDRV_BLOCK_DATA, BDRV_BLOCK_OFFSET_VALID } from "../data/request-flags.js";
import type { BdsNode } from "../graph.js";
import type { BlockStatusAnswer, DriverHost } from "./driver.js";

/** BDRVParallelsState, the part lookups need. */
export interface ParallelsBat {
  /** Sectors per cluster. */
  tracks: number;
  /** BAT entry unit in sectors: 1 for the old magic, `tracks` for the new one. */
  offMultiplier: number;
  /** s->bat_bitmap as read at open (entries past what was read are zero). */
  bat: number[];
}

/** `seek_to_sector`: the sector in the file, or -1 where nothing is allocated. */
function seekToSector(s: ParallelsBat, sector: number): number {
  const index = Math.floor(sector / s.tracks);
  const entry = s.bat[index] ?? 0;
  if (entry === 0) return -1;
  return entry * s.offMultiplier + (sector % s.tracks);
}

/** `block_status`: where `sector` is in the file (-1: unallocated) and for how many sectors that runs on. */
export function parallelsBlockStatusSectors(s: ParallelsBat, sector: number, nbSectors: number): { start: number; pnum: number } {
  let start = -2;
  let prevEnd = -2;
  let pnum = 0;
  while (nbSectors > 0 || start === -2) {
    const offset = seekToSector(s, sector);
    if (start === -2) {
      start = offset;
      prevEnd = offset;
    } else if (offset !== prevEnd) {
      break;
    }
    const toEnd = Math.min(nbSectors, s.tracks - (sector % s.tracks));
    nbSectors -= toEnd;
    sector += toEnd;
    pnum += toEnd;
    if (offset > 0) prevEnd += toEnd;
  }
  return { start, pnum };
}

/** `parallels_co_readv` (requests arrive in whole sectors). */
export function parallelsPreadv(host: DriverHost, file: BdsNode, backing: BdsNode | null, s: ParallelsBat, offset: number, bytes: number): Data {
  const parts: Data[] = [];
  let sector = offset / 512;
  let left = bytes / 512;
  while (left > 0) {
    const { start, pnum } = parallelsBlockStatusSectors(s, sector, left);
    const n = pnum * 512;
    if (start >= 0) parts.push(bdrvPreadv(host, file, start * 512, n));
    else parts.push(backing ? bdrvPreadv(host, backing, sector * 512, n) : Data.zeros(n));
    sector += pnum;
    left -= pnum;
  }
  return Data.concat(parts);
}

/** `parallels_co_block_status`. */
export function parallelsBlockStatus(file: BdsNode, s: ParallelsBat, offset: number, bytes: number): BlockStatusAnswer {
  const { start, pnum } = parallelsBlockStatusSectors(s, offset / 512, bytes / 512);
  if (start < 0) return { status: 0, pnum: pnum * 512, map: 0, file: null };
  return { status: BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID, pnum: pnum * 512, map: start * 512, file };
}
