/**
 * `bdrv_img_create` (block.c): an image file made from inside QEMU, as blockdev-snapshot-sync makes
 * its overlay and drive-backup its target, with qemu-img's bytes (images/write-image.ts).
 */
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { ImageRefusedAfterCreateError, ImageSpecError } from "../images/image-errors.js";
import { IMAGE_WRITERS } from "../images/image-writers.js";
import { writeImage } from "../images/write-image.js";
import type { LayerState } from "../layer-state.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { BLK_PERM_RESIZE, BLK_PERM_WRITE, permMessageName } from "../perms.js";
import { fail } from "../qmp-failure.js";
import { isDriver } from "../../../qapi/blockdev-schema.js";
import { nbdFilenameRefusal } from "../drivers/nbd.js";
import { kindAt, walkToLast } from "../data/path-walk.js";

/** Formats that take a backing file, whose images the model writes. */
const WRITES_WITH_BACKING = new Set(["qcow2", "qcow", "qed"]);
/** Formats QEMU 7.2 creates, with no backing file among their creation options. */
const NO_BACKING = new Set(["raw", "file", "luks", "parallels", "vdi", "vpc", "vhdx", "nbd"]);
/**
 * Drivers Debian builds as modules of qemu-block-extra, which the packages QEMU comes from here do
 * not install: bdrv_find_format finds no such format.
 */
const MODULE_DRIVERS = new Set(["http", "https", "ftp", "ftps", "ssh", "iscsi", "nfs", "gluster", "rbd"]);
/** Drivers without creation options (drv->create_opts NULL). */
const NO_CREATION = new Set([
  "blkdebug",
  "blklogwrites",
  "blkverify",
  "bochs",
  "cloop",
  "compress",
  "copy-before-write",
  "copy-on-read",
  "dmg",
  "null-aio",
  "null-co",
  "preallocate",
  "quorum",
  "snapshot-access",
  "throttle",
  "vvfat",
]);

/** The backing file an image is created over: its name as written into the header, and its format. */
export interface ImgCreateBase {
  file: string;
  format: string;
}

/**
 * `bdrv_img_create(file, format, base?.file, base?.format, NULL, size, flags)`: the checks in its
 * order, then the protocol's creation (file-posix `raw_co_create`: create, lock, check the locks,
 * truncate) and the format's. `noBacking` is BDRV_O_NO_BACKING in `flags`; without it the backing
 * file is opened (shared, no I/O) to check that it is there.
 */
export function bdrvImgCreate(state: LayerState, file: string, format: string, base: ImgCreateBase | null, size: number, noBacking: boolean): void {
  if (!isDriver(format) || MODULE_DRIVERS.has(format)) fail(`Unknown file format '${format}'`);
  if (NO_CREATION.has(format)) fail(`Format driver '${format}' does not support image creation`);
  if (base) {
    if (NO_BACKING.has(format)) fail(`Backing file not supported for file format '${format}'`);
    if (format !== "vmdk" && !WRITES_WITH_BACKING.has(format)) throw new ModelUnsupportedError(`creating a ${format} image`);
    if (file === base.file) fail("Error: Trying to create an image with the same filename as the backing file");
    if (base.file === "") fail("Expected backing file name, got empty string");
    if (!noBacking) checkBackingOpens(state, file, base.file);
    if (format === "vmdk") {
      // vmdk_co_create_opts refuses another format before it creates anything; vmdk_co_do_create
      // then opens the backing file for its CID, under the locks of the node open on it.
      if (base.format !== "" && base.format !== "vmdk") fail("backing_file must be a vmdk image");
      throw new ModelUnsupportedError("a vmdk image created over a backing file");
    }
  } else if (format === "nbd") {
    nbdCreate(file);
  } else if (!(format in IMAGE_WRITERS)) {
    throw new ModelUnsupportedError(`creating a ${format} image`);
  }
  const absPath = resolve(state.workdir, file);
  createProtocolFile(state, file, absPath);
  const spec = { path: relative(state.workdir, absPath), format, size, ...(base ? { backingFile: base.file, backingFormat: base.format } : {}) };
  try {
    writeImage(absPath, spec, state.hostFiles, false);
  } catch (e) {
    if (e instanceof ImageSpecError || e instanceof ImageRefusedAfterCreateError) throw new ModelUnsupportedError(`this ${format} image (${e.message})`);
    throw e;
  }
}

/**
 * nbd's create is bdrv_co_create_opts_simple: nothing to create, so it opens the image, which
 * nbd_parse_filename refuses unless the name is an NBD one.
 */
function nbdCreate(file: string): never {
  const refusal = nbdFilenameRefusal(file);
  if (refusal === undefined) throw new ModelUnsupportedError("creating an image on an NBD server");
  fail(`Protocol driver 'nbd' does not support image creation, and opening the image failed: ${refusal}`);
}

/**
 * The backing file's open in bdrv_img_create (force-share, BDRV_O_NO_IO), by its name relative to
 * the new image's directory: the model checks that a plain file is there, and leaves any other
 * name (a `json:` one, a file that is missing) to QEMU.
 */
function checkBackingOpens(state: LayerState, file: string, backingFile: string): void {
  const full = isAbsolute(backingFile) ? backingFile : join(dirname(resolve(state.workdir, file)), backingFile);
  if (backingFile.startsWith("json:") || kindAt(state.hostFiles, full) !== "file") {
    throw new ModelUnsupportedError(`opening the backing file '${backingFile}' of a new image`);
  }
}

/**
 * What open(2) says of O_CREAT at `file`: an errno, or undefined when the file can be made. The
 * kernel walks the name as written, so `missing/..` is missing, not the directory it would name.
 */
function createErrno(state: LayerState, file: string): string | undefined {
  const walk = walkToLast(state.hostFiles, state.workdir, file);
  if ("errno" in walk) return walk.errno;
  const { dir, last } = walk;
  if (last === "" || last === "." || last === ".." || kindAt(state.hostFiles, join(dir, last)) === "directory") return "EISDIR";
  return undefined;
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: "No such file or directory",
  EISDIR: "Is a directory",
  ENOTDIR: "Not a directory",
  ENAMETOOLONG: "File name too long",
};

/**
 * file-posix `raw_co_create`: `qemu_create` (open with O_CREAT), the locks of a writer that may
 * resize and shares all but resizing, checked against the other nodes on the file (OFD locks
 * conflict inside one process too), wanted perms first; only then is the file truncated.
 */
function createProtocolFile(state: LayerState, file: string, absPath: string): void {
  const errno = createErrno(state, file);
  if (errno !== undefined) fail(`Could not create '${file}': ${ERRNO_TEXT[errno]}`);
  const perm = BLK_PERM_WRITE | BLK_PERM_RESIZE;
  const unshared = BLK_PERM_RESIZE;
  const others = state.locksFor(absPath).others([0, 0]);
  for (let i = 0; i < 4; i++) {
    if (perm & others.unshared & (1 << i)) fail(`Failed to get "${permMessageName(i)}" lock`);
  }
  for (let i = 0; i < 4; i++) {
    if (unshared & others.held & (1 << i)) fail(`Failed to get shared "${permMessageName(i)}" lock`);
  }
}
