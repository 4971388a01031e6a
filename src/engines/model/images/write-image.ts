/**
 * Create an image file as `qemu-img create` 7.2 does, byte for byte and block for block (the
 * allocation is QEMU's actual-size). Each format's writer (image-writers.ts) gives the image as an
 * ImageLayout: the pieces qemu-img writes and the file's length; this file puts a layout into the
 * model's host files (in memory), or on disk for the qemu engine and tests.
 */
import { closeSync, ftruncateSync, openSync, readSync, writevSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ImageSpec } from "../../engine.js";
import { Data } from "../data/data.js";
import type { HostFiles } from "../data/host-file.js";
import { ImageReadError, ImageRefusedAfterCreateError, ImageSpecError } from "./image-errors.js";
import type { ImageLayout, ImageSurroundings } from "./image-layout.js";
import { openBackingFile } from "./backing-open.js";
import { IMAGE_WRITERS } from "./image-writers.js";
import { roundUp } from "./qcow2-format.js";

/**
 * Write `spec` (its `path` is ignored) to `absPath`, replacing any file there: into `files` when
 * given (the model's images live in memory), else on disk. Throws ImageSpecError or ImageReadError.
 */
export function writeImage(absPath: string, spec: ImageSpec, files?: HostFiles, opensBacking = true): void {
  let pieces: ImageLayout;
  try {
    pieces = imageLayout(spec, surroundings(absPath, files), opensBacking);
  } catch (e) {
    if (e instanceof ImageRefusedAfterCreateError) writeLayout(absPath, { chunks: [], length: 0 }, files);
    throw e;
  }
  for (const s of pieces.siblings ?? []) writeLayout(join(dirname(absPath), s.name), s.layout, files);
  writeLayout(absPath, pieces, files);
}

/** Zeros for the runs of a layout written to disk (never written to: shared). */
const ZERO_BLOCK = Buffer.alloc(64 * 1024);

/** Put one file of a layout in place: into `files` when given, else on disk. */
function writeLayout(absPath: string, pieces: ImageLayout, files?: HostFiles): void {
  if (files) {
    putLayout(files, absPath, pieces);
    return;
  }
  let fd: number;
  try {
    fd = openSync(absPath, "w");
  } catch (e) {
    throw new ImageReadError(absPath, (e as NodeJS.ErrnoException).code ?? "EIO", { cause: e });
  }
  try {
    for (const { offset, bytes, zeros = 0 } of pieces.chunks) {
      // The bytes and their zeros in one call, as one buffer was before chunks had runs of zeros.
      const first = Math.min(zeros, ZERO_BLOCK.length);
      writevSync(fd, [bytes, ZERO_BLOCK.subarray(0, first)], offset);
      for (let done = first; done < zeros; done += ZERO_BLOCK.length) {
        writevSync(fd, [ZERO_BLOCK.subarray(0, Math.min(ZERO_BLOCK.length, zeros - done))], offset + bytes.length + done);
      }
    }
    ftruncateSync(fd, pieces.length);
  } finally {
    closeSync(fd);
  }
}

/**
 * A layout as the model's file: the same pwrites and ftruncate as on disk, so its bytes and its
 * allocation are what qemu-img leaves. A directory there fails as open(2) would.
 */
function putLayout(files: HostFiles, absPath: string, layout: ImageLayout): void {
  if (files.entry(absPath).kind === "directory") throw new ImageReadError(absPath, "EISDIR");
  const f = files.create(absPath);
  for (const { offset, bytes, zeros = 0 } of layout.chunks) f.write(offset, Data.concat([Data.bytes(bytes), Data.zeros(zeros)]));
  f.truncate(layout.length);
  // Written back when it is closed: qemu-img flushes a format's node as it closes it, and ext4
  // writes back a file that was truncated to nothing (open with O_TRUNC, as every writer here
  // does) when it is closed (auto_da_alloc).
  f.sync();
}

/** What a writer may read around an image at `absPath`: the model's host files when given, else the disk. */
export function surroundings(absPath: string, files?: HostFiles): ImageSurroundings {
  return {
    absPath,
    read(path, offset, length) {
      const entry = files?.entry(path);
      if (entry?.kind === "file") return entry.file.read(offset, length).toBuffer();
      if (entry?.kind === "directory") return undefined;
      let fd: number;
      try {
        fd = openSync(path, "r");
      } catch {
        return undefined;
      }
      try {
        const buf = Buffer.alloc(length);
        readSync(fd, buf, 0, length, offset);
        return buf;
      } catch {
        return undefined;
      } finally {
        closeSync(fd);
      }
    },
  };
}

/** The formats whose images take a backing file; for the others qemu-img refuses one first. */
const TAKES_BACKING = new Set(["qcow2", "qcow", "qed", "vmdk"]);

/**
 * The image `spec` describes, as qemu-img would write it. Throws ImageSpecError. `opensBacking`
 * false is bdrv_img_create with BDRV_O_NO_BACKING (blockdev-snapshot-sync): the backing file is
 * named in the image, never opened.
 */
export function imageLayout(spec: ImageSpec, around?: ImageSurroundings, opensBacking = true): ImageLayout {
  if (!Number.isSafeInteger(spec.size) || spec.size < 0) throw new ImageSpecError(`invalid image size ${spec.size}`);
  const writer = IMAGE_WRITERS[spec.format];
  if (writer === undefined) throw new ImageSpecError(`the model cannot create ${spec.format} images`);
  if (spec.backingFile !== undefined && around && opensBacking && TAKES_BACKING.has(spec.format)) openBackingFile(spec, around);
  // qemu-img rounds every size up to whole 512-byte sectors.
  return writer(spec, roundUp(spec.size, 512), around);
}

