/**
 * The pages of a host file that Linux holds up to date in its page cache, and the readahead that
 * puts them there (mm/readahead.c, mm/filemap.c's filemap_read). It matters where ext4 keeps
 * unwritten extents (a fallocate that zeroed or preallocated): lseek(SEEK_DATA) finds data in such
 * an extent only where the page cache holds a page (iomap_seek_data → mapping_seek_hole_data), so
 * a buffered read of zeros there turns what file-posix's block status calls zeros into data.
 *
 * Readahead follows the kernel's rules in pages of 4 KiB: a read at the start of the file, a
 * sequential one or a large one opens a window (get_init_ra_size) whose lookahead page is marked;
 * reading the marked page pushes the window on (get_next_ra_size); a small read elsewhere reads
 * just its pages. The kernel allocates large folios, which moves window edges after the second
 * ramp by a few pages; the model keeps single pages. Measured on the ext4 scratch directories here
 * (read_ahead_kb 8192: 2048 pages), with reads in-process as QEMU makes them.
 */
import { Data } from "./data.js";
import { ExtentMap, type ExtentPiece } from "./extent-map.js";

const PAGE = 4096;
/** The backing device's read_ahead_kb, in pages. */
const RA_PAGES = 2048;

/** struct file_ra_state: one per open file description, so one per file-posix node. */
export interface ReadaheadState {
  start: number;
  size: number;
  asyncSize: number;
  /** Where the last read ended, in bytes; -1 before any (file_ra_state_init). */
  prevPos: number;
}

export function newReadaheadState(): ReadaheadState {
  return { start: 0, size: 0, asyncSize: 0, prevPos: -1 };
}

function roundUpPow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(n));
}

/** get_init_ra_size. */
function initRaSize(size: number, max: number): number {
  const n = roundUpPow2(size);
  if (n <= max / 32) return n * 4;
  if (n <= max / 4) return n * 2;
  return max;
}

/** get_next_ra_size. */
function nextRaSize(cur: number, max: number): number {
  if (cur < max / 16) return 4 * cur;
  if (cur <= max / 2) return 2 * cur;
  return max;
}

export class PageCache {
  /** Cached pages, as byte ranges of zeros (only where they are matters). */
  readonly #pages = new ExtentMap();
  /** Pages flagged PG_readahead. */
  readonly #marked = new Set<number>();

  #cached(page: number): boolean {
    return this.#pages.read(page * PAGE, PAGE).some((p) => p.data !== null);
  }

  #add(first: number, count: number): void {
    if (count > 0) this.#pages.write(first * PAGE, Data.zeros(count * PAGE));
  }

  /** The cached byte ranges within [offset, offset + length). */
  cachedRanges(offset: number, length: number): ExtentPiece[] {
    return this.#pages.read(offset, length).filter((p) => p.data !== null);
  }

  /** A buffered write: its pages are up to date (a partial page is read in first). */
  wrote(offset: number, length: number): void {
    const first = Math.floor(offset / PAGE);
    this.#add(first, Math.ceil((offset + length) / PAGE) - first);
  }

  /** truncate_pagecache_range and O_DIRECT invalidation: the whole pages of the range go. */
  drop(offset: number, length: number): void {
    const first = Math.ceil(offset / PAGE);
    const end = Math.floor((offset + length) / PAGE);
    if (end <= first) return;
    this.#pages.clear(first * PAGE, (end - first) * PAGE);
    for (const page of this.#marked) if (page >= first && page < end) this.#marked.delete(page);
  }

  /** truncate: the pages past the new end go; the one holding it stays. */
  truncate(length: number): void {
    const keep = Math.ceil(length / PAGE);
    this.#pages.truncate(keep * PAGE);
    for (const page of this.#marked) if (page >= keep) this.#marked.delete(page);
  }

  /** filemap_read of [offset, offset + length) on a file of `fileLength` bytes through `ra`. */
  read(offset: number, length: number, fileLength: number, ra: ReadaheadState): void {
    const end = Math.min(offset + length, fileLength);
    if (length <= 0 || offset >= fileLength) return;
    const last = Math.ceil(end / PAGE);
    const eofPages = Math.ceil(fileLength / PAGE);
    let index = Math.floor(offset / PAGE);
    while (index < last) {
      const piece = this.#pages.read(index * PAGE, (last - index) * PAGE)[0]!;
      // A missing page: readahead reads it (and maybe more); look again.
      if (piece.data === null) {
        this.#syncRa(index, last - index, eofPages, ra);
        continue;
      }
      const runEnd = index + piece.length / PAGE;
      let mark: number | undefined;
      for (const page of this.#marked) if (page >= index && page < runEnd && (mark === undefined || page < mark)) mark = page;
      if (mark === undefined) {
        index = runEnd;
        continue;
      }
      this.#asyncRa(mark, last - mark, eofPages, ra);
      index = mark + 1;
    }
    ra.prevPos = end;
  }

  /** page_cache_sync_ra: `index` is not cached. */
  #syncRa(index: number, req: number, eofPages: number, ra: ReadaheadState): void {
    const max = RA_PAGES;
    const prevIndex = ra.prevPos < 0 ? Infinity : Math.floor(ra.prevPos / PAGE);
    if (index === 0 || req > max || (prevIndex <= index && index - prevIndex <= 1)) {
      ra.start = index;
      ra.size = initRaSize(req, max);
      ra.asyncSize = ra.size > req ? ra.size - req : ra.size >> 1;
      this.#readit(ra, eofPages);
      return;
    }
    // page_cache_prev_miss: how many pages right before `index` are cached.
    let miss = index - 1;
    while (miss >= 0 && index - 1 - miss < max && this.#cached(miss)) miss--;
    let contig = index - miss - 1;
    // A standalone small random read: read as is, and leave the state alone.
    if (contig <= req) {
      this.#doRa(index, req, 0, eofPages);
      return;
    }
    // Cached from the beginning of the file: a long stream.
    if (miss < 0) contig *= 2;
    ra.start = index;
    ra.size = Math.min(contig + req, max);
    ra.asyncSize = 1;
    this.#readit(ra, eofPages);
  }

  /** page_cache_async_ra: a read reached the marked page `index`. */
  #asyncRa(index: number, req: number, eofPages: number, ra: ReadaheadState): void {
    const max = RA_PAGES;
    this.#marked.delete(index);
    if (index === ra.start + ra.size - ra.asyncSize) {
      ra.start += ra.size;
      ra.size = Math.max(ra.size, nextRaSize(ra.size, max));
      ra.asyncSize = ra.size;
      this.#readit(ra, eofPages);
      return;
    }
    // A marked page without a window that leads to it (interleaved reads): size one from the cache.
    let start = index + 1;
    while (start - index <= max && this.#cached(start)) start++;
    if (start - index > max) return;
    ra.start = start;
    ra.size = nextRaSize(start - index + req, max);
    ra.asyncSize = ra.size;
    this.#readit(ra, eofPages);
  }

  #readit(ra: ReadaheadState, eofPages: number): void {
    this.#doRa(ra.start, ra.size, ra.asyncSize, eofPages);
  }

  /** do_page_cache_ra: read `nr` pages from `index` up to the end of the file, marking the lookahead page. */
  #doRa(index: number, nr: number, lookahead: number, eofPages: number): void {
    if (index >= eofPages) return;
    nr = Math.min(nr, eofPages - index);
    const mark = index + nr - lookahead;
    // Pages already cached are skipped, and not marked.
    for (const piece of this.#pages.read(index * PAGE, nr * PAGE)) {
      if (piece.data !== null) continue;
      const first = piece.offset / PAGE;
      const count = piece.length / PAGE;
      this.#add(first, count);
      if (lookahead > 0 && mark >= first && mark < first + count) this.#marked.add(mark);
    }
  }
}
