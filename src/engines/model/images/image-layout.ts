/** What a format's writer returns: the file `qemu-img create` leaves. */
import type { ImageSpec } from "../../engine.js";

export interface ImageLayout {
  /**
   * Pieces in the order qemu-img writes them, zeros included (what is written decides the file's
   * allocation, QEMU's actual-size); later pieces overwrite earlier ones.
   */
  chunks: LayoutChunk[];
  /** The file's length (the file is truncated or extended to it last). */
  length: number;
  /** Other files qemu-img makes along with this one (vmdk's extent files), named relative to its directory. */
  siblings?: readonly { name: string; layout: ImageLayout }[];
}

/**
 * Bytes at `offset`, then `zeros` zero bytes written after them: a metadata cluster is mostly zeros,
 * and the model keeps those as a run instead of a buffer (a fresh qcow2 image was 192 KiB of them).
 */
export interface LayoutChunk {
  offset: number;
  bytes: Buffer;
  zeros?: number;
}

/**
 * What a writer may look at besides the spec, for formats whose qemu-img reads the backing file
 * (vmdk copies its CID): where the image goes, and the bytes of an existing file (zeros past its
 * end; undefined when there is no file at that path).
 */
export interface ImageSurroundings {
  absPath: string;
  read(absPath: string, offset: number, length: number): Buffer | undefined;
}

/**
 * A format's writer: pure; `size` is the virtual size already rounded up to whole 512-byte sectors.
 * Throws ImageSpecError with qemu-img's message where qemu-img refuses the spec.
 */
export type ImageWriter = (spec: ImageSpec, size: number, around?: ImageSurroundings) => ImageLayout;
