/**
 * file-posix (`file`): a host file, no children; image locking across nodes on the same file, as
 * raw_check_perm / raw_set_perm / raw_abort_perm_update and raw_handle_perm_lock do it.
 */
import { Data } from "../data/data.js";
import { Errno, IoError, ioFail } from "../data/io-error.js";
import { EXT4_MAX_FILE_SIZE, type HostFile, type HostFiles } from "../data/host-file.js";
import { requestAlignment } from "../data/block-io.js";
import { newReadaheadState, type ReadaheadState } from "../data/page-cache.js";
import { BDRV_BLOCK_DATA, BDRV_BLOCK_OFFSET_VALID, BDRV_BLOCK_ZERO, BDRV_REQ_MAY_UNMAP, BDRV_REQ_ZERO_WRITE } from "../data/request-flags.js";
import { fileTruncate } from "../data/truncate.js";
import { ImageReadError } from "../images/image-errors.js";
import { readImage } from "../images/read-image.js";
import { OpaqueSlot } from "../opaque.js";
import { optBool, qemuOptsToQdict } from "../options.js";
import { BLK_PERM_ALL, permMessageName } from "../perms.js";
import { fail, QmpFailure } from "../qmp-failure.js";
import type { DriverDef, DriverHost } from "./driver.js";
import { walkToLast } from "../data/path-walk.js";

/** BDRVRawState, the part the model keeps. */
interface FileState {
  absPath: string;
  /** s->use_lock. */
  locking: boolean;
  /** Perms whose "held" lock bytes (100+p) this node holds (s->locked_perm). */
  lockedPerm: number;
  /** Perms whose "unshared" lock bytes (200+p) this node holds (~s->locked_shared_perm). */
  lockedUnshared: number;
  /** s->perm and s->shared_perm: what the last committed transaction gave the node. */
  perm: number;
  sharedPerm: number;
  /** Bytes the host file system allocated to the file at open. */
  allocated: number;
  /** The engine's host files (getAllocatedFileSize has no host to ask). */
  files: HostFiles;
  /** The descriptor's readahead state. */
  ra: ReadaheadState;
  /** s->stats: the discards handle_aiocb_discard made, which a reopen keeps. */
  discardNbOk: number;
  discardNbFailed: number;
  discardBytesOk: number;
}

const slot = new OpaqueSlot<FileState>("file");

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  EISDIR: "Is a directory",
  ENOTDIR: "Not a directory",
  ENAMETOOLONG: "File name too long",
};

/** `raw_apply_lock_bytes`: hold exactly these bytes from now on. */
function applyLockBytes(st: FileState, host: DriverHost, perm: number, unshared: number): void {
  host.locksFor(st.absPath).move([st.lockedPerm, st.lockedUnshared], [perm, unshared]);
  st.lockedPerm = perm;
  st.lockedUnshared = unshared;
}


export const fileDriver: DriverDef = {
  name: "file",
  protocol: true,
  isFilter: false,
  supportsBacking: false,
  mutableOpts: ["x-check-cache-dropped"],
  readsInThreadPool: true,
  createsOnHostFile: true,

  /** raw_open_common: zero writes may unmap. */
  supportsZeroUnmap: () => true,
  /** bdrv_has_zero_init_1: a file made for the image reads as zeros. */
  hasZeroInit: () => true,

  /**
   * `raw_parse_filename` → `bdrv_parse_filename_strip_prefix(filename, "file:")`; the name stays in
   * the options (`bdrv_needs_filename`). A name that would look like another protocol once the
   * prefix is gone (a colon before the first slash) is made `./NAME`.
   */
  parseFilename(filename, options) {
    if (!filename.startsWith("file:")) return;
    const rest = filename.slice("file:".length);
    options["filename"] = /^[^/]*:/.test(rest) ? `./${rest}` : rest;
  },

  open(ctx) {
    const filename = String(ctx.options["filename"]);
    const absPath = ctx.resolvePath(filename);
    // open(2) walks the name as written: `missing/..` is missing, `file/..` is not a directory.
    const walk = walkToLast(ctx.host.hostFiles, ctx.workdir, filename);
    if ("errno" in walk) fail(`Could not open '${filename}': ${ERRNO_TEXT[walk.errno]}`);
    let info;
    try {
      info = readImage(absPath, ctx.host.hostFiles);
    } catch (e) {
      if (!(e instanceof ImageReadError)) throw e;
      fail(`Could not open '${filename}': ${ERRNO_TEXT[e.errno] ?? "Input/output error"}`);
    }
    // raw_open_common, once the file is open: Linux AIO works only on O_DIRECT descriptors.
    if (ctx.options["aio"] === "native" && !optBool(ctx.options["cache.direct"])) {
      fail("aio=native was specified, but it requires cache.direct=on, which was not specified.");
    }
    slot.set(ctx.node, {
      absPath,
      locking: ctx.options["locking"] !== "off",
      lockedPerm: 0,
      lockedUnshared: 0,
      perm: 0,
      sharedPerm: BLK_PERM_ALL,
      allocated: info.allocated,
      files: ctx.host.hostFiles,
      ra: newReadaheadState(),
      discardNbOk: 0,
      discardNbFailed: 0,
      discardBytesOk: 0,
    });
    // bdrv_getlength is total_sectors * 512: the size rounded up to a sector.
    ctx.node.size = Math.ceil(info.fileSize / 512) * 512;
  },

  /** `raw_close`: closing the descriptor drops its OFD locks. */
  close(node, host) {
    applyLockBytes(slot.get(node), host, 0, 0);
  },

  /**
   * `raw_check_perm` → `raw_handle_perm_lock(RAW_PL_PREPARE)`. OFD locks conflict between different
   * nodes on one file even inside one process: wanted perms are tested against others' "unshared"
   * bytes, then our unshared perms against others' "held" bytes, each in ascending bit order
   * (`raw_check_lock_bytes`). Until the transaction ends the node holds its old bytes and the new.
   */
  checkPerm(node, perm, shared, host) {
    const st = slot.get(node);
    if (!st.locking) return;
    const { held: othersHeld, unshared: othersUnshared } = host.locksFor(st.absPath).others([st.lockedPerm, st.lockedUnshared]);
    // raw_handle_perm_lock appends a hint naming bs->filename to raw_check_lock_bytes' error.
    const lockFail = (desc: string): never => {
      const failure = new QmpFailure(desc);
      failure.hint = `Is another process using the image [${node.exactFilename}]?`;
      throw failure;
    };
    for (let i = 0; i < 4; i++) {
      if (perm & (1 << i) && othersUnshared & (1 << i)) lockFail(`Failed to get "${permMessageName(i)}" lock`);
    }
    const unshared = ~shared & BLK_PERM_ALL;
    for (let i = 0; i < 4; i++) {
      if (unshared & (1 << i) && othersHeld & (1 << i)) lockFail(`Failed to get shared "${permMessageName(i)}" lock`);
    }
    applyLockBytes(st, host, st.lockedPerm | perm, st.lockedUnshared | unshared);
  },

  /** `raw_set_perm` (RAW_PL_COMMIT): only the new bytes stay. */
  setPerm(node, perm, shared, host) {
    const st = slot.get(node);
    if (st.locking) applyLockBytes(st, host, perm, ~shared & BLK_PERM_ALL);
    st.perm = perm;
    st.sharedPerm = shared;
  },

  /** `raw_abort_perm_update` (RAW_PL_ABORT): back to the bytes of the committed perms. */
  abortPermUpdate(node, host) {
    const st = slot.get(node);
    if (st.locking) applyLockBytes(st, host, st.perm, ~st.sharedPerm & BLK_PERM_ALL);
  },

  /**
   * `raw_reopen_prepare`: drop-cache and x-check-cache-dropped are taken; the other runtime options
   * go back as QemuOpts strings (`qemu_opts_to_qdict`), to be compared with the old ones.
   */
  reopenPrepare(rs) {
    delete rs.options["drop-cache"];
    delete rs.options["x-check-cache-dropped"];
    qemuOptsToQdict(rs.options, ["filename", "aio", "aio-max-batch", "locking", "pr-manager"]);
  },

  /** `raw_get_allocated_file_size`: st_blocks * 512, asked of the file each time (it grows with writes). */
  getAllocatedFileSize(node) {
    const st = slot.get(node);
    // A file removed behind the model's back keeps what it had at open.
    return st.files.get(st.absPath).allocatedBytes() ?? st.allocated;
  },

  /**
   * `raw_co_preadv`: a short read past the end of the file is padded with zeros. Without O_DIRECT
   * it goes through the page cache, and its readahead makes cached pages data to SEEK_DATA.
   */
  preadv(host, node, offset, bytes) {
    const st = slot.get(node);
    const file = host.hostFiles.get(st.absPath);
    const data = file.read(offset, bytes);
    if (!optBool(node.options["cache.direct"])) {
      const later = host.deferCompletions;
      if (later) later.push(() => file.readahead?.(offset, bytes, st.ra));
      else file.readahead?.(offset, bytes, st.ra);
    }
    return data;
  },

  /**
   * `raw_co_pwritev`. Past ext4's largest file pwrite writes what fits, and the retry of the rest
   * fails with EFBIG (generic_write_check_limits).
   */
  pwritev(host, node, offset, data) {
    const file = host.hostFiles.get(slot.get(node).absPath);
    if (offset + data.length > EXT4_MAX_FILE_SIZE) {
      if (offset < EXT4_MAX_FILE_SIZE) file.write(offset, data.slice(0, EXT4_MAX_FILE_SIZE - offset));
      ioFail(Errno.EFBIG);
    }
    file.write(offset, data);
    // O_DIRECT bypasses the page cache: the blocks are allocated as they are written.
    if (optBool(node.options["cache.direct"])) {
      file.sync?.(offset, data.length);
      file.dropCache?.(offset, data.length);
    }
  },

  /** `raw_co_flush_to_disk`: fdatasync. */
  flushToDisk(host, node) {
    host.hostFiles.get(slot.get(node).absPath).sync?.();
  },

  /**
   * `raw_co_pwrite_zeroes`: QEMU asks the kernel to zero the range (fallocate, which grows the file),
   * or with BDRV_REQ_MAY_UNMAP to punch it (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE: past the end
   * of the file nothing happens, and the file keeps its length): a file the model holds loses the
   * blocks the hole covers, as ext4's does.
   */
  pwriteZeroes(host, node, offset, bytes, flags) {
    const file = host.hostFiles.get(slot.get(node).absPath);
    if (flags & BDRV_REQ_MAY_UNMAP) return punchHole(file, offset, bytes);
    // handle_aiocb_write_zeroes: fallocate(ZERO_RANGE), refused past ext4's largest file.
    if (offset + bytes > EXT4_MAX_FILE_SIZE) ioFail(Errno.EFBIG);
    if (file.zeroRange) file.zeroRange(offset, bytes);
    else file.write(offset, Data.zeros(bytes));
  },

  /**
   * `raw_co_pdiscard`: a punched hole, as for a zero write that may unmap, counted by
   * `raw_account_discard` (a hole past the end of the file is punched as well).
   */
  pdiscard(host, node, offset, bytes) {
    const st = slot.get(node);
    try {
      punchHole(host.hostFiles.get(st.absPath), offset, bytes);
    } catch (e) {
      if (e instanceof IoError) st.discardNbFailed++;
      throw e;
    }
    st.discardNbOk++;
    st.discardBytesOk += bytes;
  },

  /** `raw_get_specific_stats`. */
  getSpecificStats(node) {
    const st = slot.get(node);
    return { driver: "file", "discard-nb-ok": st.discardNbOk, "discard-nb-failed": st.discardNbFailed, "discard-bytes-ok": st.discardBytesOk };
  },

  /**
   * `raw_co_block_status`. With want_zero QEMU asks lseek(SEEK_DATA/SEEK_HOLE) (find_allocation);
   * the model answers it for the files it keeps itself, and as QEMU does where that is not
   * available (a file it found on disk): data all through.
   */
  blockStatus(host, node, wantZero, offset, bytes) {
    const answer = (status: number, pnum: number) => ({ status: status | BDRV_BLOCK_OFFSET_VALID, pnum, map: offset, file: node });
    if (!wantZero) return answer(BDRV_BLOCK_DATA, bytes);
    const found = host.hostFiles.get(slot.get(node).absPath).findAllocation?.(offset);
    // No information: "pretend there are no holes".
    if (found === undefined) return answer(BDRV_BLOCK_DATA, bytes);
    // A trailing hole.
    if (found === "ENXIO") return answer(BDRV_BLOCK_ZERO, bytes);
    if (found.data === offset) {
      // A data extent ending in a partial sector at EOF counts that sector whole.
      const align = requestAlignment(node);
      return answer(BDRV_BLOCK_DATA, Math.ceil((found.hole - offset) / align) * align);
    }
    return answer(BDRV_BLOCK_ZERO, found.data - offset);
  },

  /**
   * `raw_probe_alignment`: buffered I/O has no alignment; O_DIRECT needs the device's logical block
   * size, which the model takes to be 512 bytes (QEMU probes it; a 4 KiB-sector disk would give 4096).
   */
  ioLimits(node) {
    return { requestAlignment: optBool(node.options["cache.direct"]) ? 512 : 1 };
  },

  /** `raw_co_truncate` (data/truncate.ts). */
  truncate(host, node, offset, _exact, prealloc) {
    fileTruncate(host, node, slot.get(node).absPath, offset, prealloc);
  },

  /** `raw_open_common`: growing a regular file gives zeros. */
  supportedTruncateFlags: () => BDRV_REQ_ZERO_WRITE,

  /** `raw_get_info`: nothing to tell, but it answers. */
  getInfo() {
    return { info: { clusterSize: 0, isDirty: false } };
  },

  readAtZero(node) {
    return { hostFile: slot.get(node).absPath };
  },
};

/**
 * `handle_aiocb_discard` and `handle_aiocb_write_zeroes_unmap` on a regular file:
 * fallocate(PUNCH_HOLE | KEEP_SIZE) reads as zeros up to the end and grows nothing; a file the model
 * does not hold in memory gets the zeros written instead (its allocation is the host's).
 */
function punchHole(file: HostFile, offset: number, bytes: number): void {
  if (file.punch) return file.punch(offset, bytes);
  const end = Math.min(offset + bytes, file.length);
  if (end > offset) file.write(offset, Data.zeros(end - offset));
}
