/**
 * The host files of one model engine, shared by every node that opens them (file-posix nodes on the
 * same path see each other's writes at once, as two file descriptors on one file do).
 *
 * A file the model makes itself (an `image` step, qemu-img in the model) lives in memory only: the
 * model is the only one that reads or writes it, so nothing needs to reach the disk until a path
 * leaves the model — a scratch directory that is kept, or a test that reads the files after a run —
 * and then `writeOut()` puts every such file in place. A file that was already on disk (made by
 * something else) is read from the disk where the model wrote nothing, and written through, so it
 * stays what QEMU would leave.
 *
 * Allocation (`actual-size`, st_blocks * 512) of a file in memory is what a file system with 4 KiB
 * blocks allocates to it: every block a write touched (zeros included: pwrite of zeros allocates),
 * up to the file's end. That is what ext4 and tmpfs report right after the writes, which is when
 * the model used to ask the disk.
 */
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, realpathSync, statSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { Data } from "./data.js";
import { ExtentMap } from "./extent-map.js";
import { Errno, ioFail } from "./io-error.js";
import { PageCache, type ReadaheadState } from "./page-cache.js";

/** ext4's s_maxbytes with 4 KiB blocks and extents: (2^32 - 1) blocks, where the scratch directories live. */
export const EXT4_MAX_FILE_SIZE = (2 ** 32 - 1) * 4096;

/** Pattern data goes to disk in pieces of this size. */
const WRITE_CHUNK = 1 << 20;
/** The file system block: the unit st_blocks grows by. */
const FS_BLOCK = 4096;

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** The data of one host file, as file-posix sees it through pread, pwrite, ftruncate and fstat. */
export interface HostFile {
  readonly path: string;
  /** The file's length in bytes. */
  readonly length: number;
  /** Extents the model holds for this file (benchmarks and tests). */
  readonly extentCount: number;
  /** `pread`: bytes past the end read as zeros (file-posix pads a short read with zeros). */
  read(offset: number, length: number): Data;
  /** `pwrite`: the file grows to cover it. */
  write(offset: number, data: Data): void;
  /** `ftruncate`. */
  truncate(length: number): void;
  /**
   * `fallocate(PUNCH_HOLE | KEEP_SIZE)`: the range (up to the end) reads as zeros, and the blocks
   * wholly inside it are no longer allocated. Absent: the model writes zeros instead.
   */
  punch?(offset: number, length: number): void;
  /**
   * `fallocate(ZERO_RANGE)`: the range reads as zeros and its blocks are allocated at once (as
   * unwritten extents); the file grows to cover it. Absent: the model writes zeros instead.
   */
  zeroRange?(offset: number, length: number): void;
  /**
   * `fallocate(0)` (posix_fallocate): the range's holes get blocks at once, as unwritten extents
   * that read as zeros; what is allocated stays; the file grows to cover it. Absent: the model
   * writes zeros where the file ends.
   */
  allocate?(offset: number, length: number): void;
  /**
   * A buffered `pread` went through the page cache (page-cache.ts): the pages it and its readahead
   * brought in make unwritten extents there data to SEEK_DATA. `ra` is the descriptor's state.
   */
  readahead?(offset: number, length: number, ra: ReadaheadState): void;
  /** An O_DIRECT write invalidates the cached pages it covers. */
  dropCache?(offset: number, length: number): void;
  /** `fdatasync` (or the blocks of the range only, as an O_DIRECT write or a fallocate writes them back). */
  sync?(offset?: number, length?: number): void;
  /** `st_blocks * 512`: what the file system allocated to the file (undefined when it is gone). */
  allocatedBytes(): number | undefined;
  /**
   * file-posix's `find_allocation` (lseek SEEK_DATA, then SEEK_HOLE, from `offset`): the data
   * extent `offset` is in, or the hole and where the next data starts; "ENXIO" when only a hole is
   * left up to the end (or `offset` is at or past it); undefined when the model cannot tell.
   */
  findAllocation?(offset: number): { data: number; hole: number } | "ENXIO";
}

/** ext4's longest initialized extent: 32768 blocks. */
const EXT4_MAX_EXTENT = 32768 * FS_BLOCK;
/** ext4's longest unwritten extent: 32767 blocks (EXT_UNWRITTEN_MAX_LEN). */
const EXT4_MAX_UNWRITTEN_EXTENT = 32767 * FS_BLOCK;
/** Extents (or index entries) an ext4 extent tree block holds: (4096 - 12) / 12. */
const EXT4_ENTRIES_PER_BLOCK = 340;
/** Extents the inode itself holds. */
const EXT4_INODE_ENTRIES = 4;

/**
 * The blocks of a file's ext4 extent tree, which st_blocks counts with its data (and so QEMU's
 * actual-size): none while the inode's four entries hold the extents; else leaf blocks of 340
 * extents each, filled in order as a file written front to back fills them, and index blocks
 * above them while a level has more than four. Measured on the ext4 scratch directories here.
 */
function ext4ExtentTreeBlocks(extents: number): number {
  let blocks = 0;
  for (let level = extents; level > EXT4_INODE_ENTRIES; ) {
    level = Math.ceil(level / EXT4_ENTRIES_PER_BLOCK);
    blocks += level;
  }
  return blocks;
}

/**
 * A file the model made: its bytes and its allocation, in memory only. A block a write touches is
 * counted at once (ext4 reserves it for delayed allocation: st_blocks counts it), but it joins the
 * file's extent tree only when the file is written back (an fdatasync), or when a fallocate
 * allocates it; only extents in the tree can make it need blocks of its own, which st_blocks counts
 * too. A fallocate that zeroes makes unwritten extents, which data written back into them splits
 * and which never merge with written ones. Measured on the ext4 scratch directories here, with
 * fallocate(2) called in-process as QEMU calls it.
 */
export class MemoryFile implements HostFile {
  #data = new ExtentMap();
  /** Allocated file system blocks, as extents of zeros (only where they are matters). */
  #blocks = new ExtentMap();
  /** Of those, the blocks written back: in the extent tree. */
  #written = new ExtentMap();
  /**
   * Of those in the tree, the ones a fallocate zeroed (FALLOC_FL_ZERO_RANGE) and no data has been
   * written back to since: unwritten extents, which never merge with written ones.
   */
  #unwritten = new ExtentMap();
  /** Blocks written with data and not yet written back (what converts unwritten ones). */
  #pendingData = new ExtentMap();
  readonly #pageCache = new PageCache();
  #length = 0;

  constructor(readonly path: string) {}

  get length(): number {
    return this.#length;
  }

  get extentCount(): number {
    return this.#data.size;
  }

  read(offset: number, length: number): Data {
    const parts: Data[] = [];
    for (const piece of this.#data.read(offset, length)) parts.push(piece.data ?? Data.zeros(piece.length));
    return Data.concat(parts);
  }

  write(offset: number, data: Data): void {
    if (data.length === 0) return;
    const end = offset + data.length;
    this.#data.write(offset, data);
    const first = Math.floor(offset / FS_BLOCK) * FS_BLOCK;
    this.#blocks.write(first, Data.zeros(roundUp(end, FS_BLOCK) - first));
    this.#pendingData.write(first, Data.zeros(roundUp(end, FS_BLOCK) - first));
    this.#pageCache.wrote(offset, data.length);
    this.#length = Math.max(this.#length, end);
  }

  readahead(offset: number, length: number, ra: ReadaheadState): void {
    this.#pageCache.read(offset, length, this.#length, ra);
  }

  dropCache(offset: number, length: number): void {
    this.#pageCache.drop(offset, length);
  }

  punch(offset: number, length: number): void {
    const end = Math.min(offset + length, this.#length);
    if (end <= offset) return;
    // ext4 zeroes the partial blocks at either edge in place; the whole ones go.
    this.#data.write(offset, Data.zeros(end - offset));
    this.#pageCache.drop(offset, end - offset);
    const first = roundUp(offset, FS_BLOCK);
    const last = Math.floor(end / FS_BLOCK) * FS_BLOCK;
    if (last > first) {
      for (const m of [this.#blocks, this.#written, this.#unwritten, this.#pendingData]) m.clear(first, last - first);
    }
  }

  zeroRange(offset: number, length: number): void {
    if (length <= 0) return;
    // The range's whole blocks are allocated at once, as unwritten extents; partial blocks at its
    // edges are zeroed in place, as a write; the rest stays as it was.
    this.write(offset, Data.zeros(length));
    const first = roundUp(offset, FS_BLOCK);
    const last = Math.floor((offset + length) / FS_BLOCK) * FS_BLOCK;
    if (last > first) {
      this.#pendingData.clear(first, last - first);
      this.#unwritten.write(first, Data.zeros(last - first));
      // ext4_zero_range drops the page cache over the blocks it makes unwritten.
      this.#pageCache.drop(first, last - first);
    }
    this.sync(offset, length);
  }

  allocate(offset: number, length: number): void {
    if (length <= 0) return;
    const end = offset + length;
    // Whole blocks, the partial ones at either edge included; only holes change.
    const first = Math.floor(offset / FS_BLOCK) * FS_BLOCK;
    const last = roundUp(end, FS_BLOCK);
    for (const piece of this.#blocks.read(first, last - first)) {
      if (piece.data) continue;
      for (const m of [this.#blocks, this.#written, this.#unwritten]) m.write(piece.offset, Data.zeros(piece.length));
    }
    this.#length = Math.max(this.#length, end);
  }

  sync(offset = 0, length = roundUp(this.#length, FS_BLOCK) - offset): void {
    if (length <= 0) return;
    for (const piece of this.#blocks.read(offset, length)) if (piece.data) this.#written.write(piece.offset, piece.data);
    // Data written back into unwritten extents converts those blocks to written ones.
    for (const piece of this.#pendingData.read(offset, length)) if (piece.data) this.#unwritten.clear(piece.offset, piece.length);
    this.#pendingData.clear(offset, length);
  }

  truncate(length: number): void {
    this.#data.truncate(length);
    // The block holding the new end stays; a grown file gets no blocks (a hole).
    for (const m of [this.#blocks, this.#written, this.#unwritten, this.#pendingData]) m.truncate(roundUp(length, FS_BLOCK));
    this.#pageCache.truncate(length);
    this.#length = length;
  }

  /**
   * What SEEK_DATA counts as data in [offset, offset + length): allocated blocks, except unwritten
   * extents where the page cache holds no page and no written data waits (iomap_seek_data).
   */
  #seekData(offset: number, length: number): ExtentMap {
    const m = new ExtentMap();
    for (const b of this.#blocks.read(offset, length)) if (b.data) m.write(b.offset, Data.zeros(b.length));
    for (const u of this.#unwritten.read(offset, length)) {
      if (!u.data) continue;
      m.clear(u.offset, u.length);
      for (const p of [...this.#pendingData.read(u.offset, u.length), ...this.#pageCache.cachedRanges(u.offset, u.length)]) {
        if (p.data) m.write(p.offset, Data.zeros(p.length));
      }
    }
    return m;
  }

  /**
   * Answered from the blocks the writes touched, as ext4 answers for a file it allocated only on
   * writes: a block never written is a hole, the hole at the end starts at the file's length, and
   * an unwritten extent is a hole unless its pages are cached.
   */
  findAllocation(offset: number): { data: number; hole: number } | "ENXIO" {
    if (offset >= this.#length) return "ENXIO";
    let data: number | undefined;
    const scan = roundUp(this.#length, FS_BLOCK) - offset;
    for (const piece of this.#seekData(offset, scan).read(offset, scan)) {
      if (data === undefined) {
        if (!piece.data) continue;
        data = Math.max(piece.offset, offset);
        // SEEK_DATA landed past `offset`: `offset` is in a hole.
        if (data > offset) return data >= this.#length ? "ENXIO" : { data, hole: offset };
        continue;
      }
      if (!piece.data) return { data, hole: Math.min(piece.offset, this.#length) };
    }
    return data === undefined ? "ENXIO" : { data, hole: this.#length };
  }

  allocatedBytes(): number {
    const end = roundUp(this.#length, FS_BLOCK);
    let n = 0;
    for (const piece of this.#blocks.read(0, end)) if (piece.data) n += piece.length;
    // Extents: runs of contiguous blocks in the tree of one kind, written or unwritten.
    let extents = 0;
    let runStart = -1;
    let runEnd = -1;
    let runUnwritten = false;
    const closeRun = () => {
      if (runEnd > runStart) extents += Math.ceil((runEnd - runStart) / (runUnwritten ? EXT4_MAX_UNWRITTEN_EXTENT : EXT4_MAX_EXTENT));
    };
    for (const piece of this.#written.read(0, end)) {
      if (!piece.data) continue;
      for (const part of this.#unwritten.read(piece.offset, piece.length)) {
        const unwritten = part.data !== null && part.data !== undefined;
        if (part.offset !== runEnd || unwritten !== runUnwritten) {
          closeRun();
          runStart = part.offset;
          runUnwritten = unwritten;
        }
        runEnd = part.offset + part.length;
      }
    }
    closeRun();
    return n + ext4ExtentTreeBlocks(extents) * FS_BLOCK;
  }

  /** Put the file on disk as pwrite and ftruncate would have made it (parent directories too). */
  writeOut(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const fd = openSync(this.path, "w");
    try {
      for (const piece of this.#data.read(0, this.#length)) if (piece.data) writeData(fd, piece.offset, piece.data);
      ftruncateSync(fd, this.#length);
    } finally {
      closeSync(fd);
    }
  }
}

/** Write `data` at `offset` of the open file `fd`, fills in pieces of WRITE_CHUNK. */
function writeData(fd: number, offset: number, data: Data): void {
  let pos = offset;
  for (const s of data.resolveUntouched(0).segments) {
    if (s.kind === "bytes") {
      writeSync(fd, s.bytes, 0, s.bytes.length, pos);
      pos += s.bytes.length;
      continue;
    }
    const chunk = Buffer.alloc(Math.min(s.length, WRITE_CHUNK), s.kind === "fill" ? s.byte : 0);
    for (let done = 0; done < s.length; done += chunk.length) {
      const n = Math.min(chunk.length, s.length - done);
      writeSync(fd, chunk, 0, n, pos + done);
    }
    pos += s.length;
  }
}

/** What identifies one version of the file on disk. */
function signature(path: string): string | null {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return null;
  }
}

/**
 * A file that was on disk before the model touched it. What the model wrote lives in an ExtentMap,
 * fills as fills; what it never wrote is read from the disk. Every write also goes to disk at once.
 * Something else rewriting the file is noticed by its stat signature, and what the model remembered
 * of the old file is dropped.
 */
export class DiskFile implements HostFile {
  #written = new ExtentMap();
  #length: number | undefined;
  #signature: string | null = null;

  constructor(readonly path: string) {}

  /** Drop what the model remembers if the file on disk is no longer the one it last wrote. */
  #sync(): void {
    const now = signature(this.path);
    if (this.#length !== undefined && now === this.#signature) return;
    this.#written = new ExtentMap();
    this.#length = now === null ? 0 : Number(statSync(this.path).size);
    this.#signature = now;
  }

  #open(flags: "r" | "r+"): number {
    try {
      return openSync(this.path, flags);
    } catch {
      return ioFail(flags === "r" ? Errno.EIO : Errno.EACCES);
    }
  }

  get length(): number {
    this.#sync();
    return this.#length!;
  }

  get extentCount(): number {
    return this.#written.size;
  }

  read(offset: number, length: number): Data {
    this.#sync();
    const parts: Data[] = [];
    let fd: number | undefined;
    try {
      for (const piece of this.#written.read(offset, length)) {
        if (piece.data) {
          parts.push(piece.data);
          continue;
        }
        const onDisk = Math.max(0, Math.min(piece.length, this.#length! - piece.offset));
        if (onDisk > 0) {
          fd ??= this.#open("r");
          const buf = Buffer.alloc(onDisk);
          let done = 0;
          while (done < onDisk) {
            const n = readSync(fd, buf, done, onDisk - done, piece.offset + done);
            if (n === 0) break;
            done += n;
          }
          parts.push(Data.bytes(buf));
        }
        if (onDisk < piece.length) parts.push(Data.zeros(piece.length - onDisk));
      }
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    return Data.concat(parts);
  }

  write(offset: number, data: Data): void {
    if (data.length === 0) return;
    this.#sync();
    const fd = this.#open("r+");
    try {
      writeData(fd, offset, data);
      this.#length = Number(fstatSync(fd).size);
    } finally {
      closeSync(fd);
    }
    this.#written.write(offset, data);
    this.#signature = signature(this.path);
  }

  truncate(length: number): void {
    this.#sync();
    const fd = this.#open("r+");
    try {
      ftruncateSync(fd, length);
    } finally {
      closeSync(fd);
    }
    this.#written.truncate(length);
    this.#length = length;
    this.#signature = signature(this.path);
  }

  allocatedBytes(): number | undefined {
    try {
      return Number(statSync(this.path).blocks) * 512;
    } catch {
      return undefined;
    }
  }
}

/** What is at a path in the store. */
export type HostEntry = { kind: "file"; file: MemoryFile } | { kind: "directory" } | { kind: "disk" };

/**
 * Every host file one engine's nodes have done I/O on, by absolute path: the files the model made
 * (in memory), the directories it made for them, and files found on disk.
 */
export class HostFiles {
  readonly #memory = new Map<string, MemoryFile>();
  readonly #disk = new Map<string, DiskFile>();
  readonly #dirs = new Set<string>();

  /** The data of the file at `absPath`: the model's own, or the one on disk (opened on first use). */
  get(absPath: string): HostFile {
    const mine = this.#memory.get(absPath);
    if (mine) return mine;
    let f = this.#disk.get(absPath);
    if (!f) this.#disk.set(absPath, (f = new DiskFile(absPath)));
    return f;
  }

  /** What the store holds at `absPath`; "disk" when it holds nothing there (look at the disk). */
  entry(absPath: string): HostEntry {
    const file = this.#memory.get(absPath);
    if (file) return { kind: "file", file };
    return this.#dirs.has(absPath) ? { kind: "directory" } : { kind: "disk" };
  }

  /** `open(O_CREAT | O_TRUNC)` by the model: a new, empty file in memory replaces whatever was there. */
  create(absPath: string): MemoryFile {
    const f = new MemoryFile(absPath);
    this.#memory.set(absPath, f);
    this.#disk.delete(absPath);
    this.mkdir(dirname(absPath));
    return f;
  }

  /** `mkdir -p` in the store. */
  mkdir(absPath: string): void {
    for (let d = absPath; !this.#dirs.has(d); d = dirname(d)) {
      this.#dirs.add(d);
      if (dirname(d) === d) break;
    }
  }

  /** Whether the model made files that are only in memory. */
  get holdsFiles(): boolean {
    return this.#memory.size > 0;
  }

  /**
   * realpath(3) as QEMU would get it once the files are on disk: a path the store holds resolves
   * its longest existing prefix on disk (symbolic links the model never makes), others the disk.
   * Null where realpath fails.
   */
  realpath(absPath: string): string | null {
    const p = resolve(absPath);
    if (this.entry(p).kind === "disk") {
      try {
        return realpathSync(p);
      } catch {
        return null;
      }
    }
    const rest: string[] = [];
    for (let d = p; ; d = dirname(d)) {
      try {
        return join(realpathSync(d), ...rest.reverse());
      } catch {
        if (dirname(d) === d) return null;
        rest.push(basename(d));
      }
    }
  }

  /**
   * Write every file the model made to its path on disk (a kept scratch directory, a test that reads
   * them). From then on the file on disk is the file: the model reads it back from there, writes
   * through, and sees what others write to it.
   */
  writeOut(): void {
    for (const [path, f] of this.#memory) {
      f.writeOut();
      this.#memory.delete(path);
    }
  }
}
