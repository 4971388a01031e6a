/** What a format's writer returns: the file `qemu-img create` leaves. */
import type { ImageSpec } from "../../engine.js";

export interface ImageLayout {
  /**
   * Pieces in the order qemu-img writes them, zeros included (what is written decides the file's
   * allocation, QEMU's actual-size); later pieces overwrite earlier ones.
   */
  chunks: { offset: number; bytes: Buffer }[];
  /** The file's length (the file is truncated or extended to it last). */
  length: number;
}

/**
 * A format's writer: pure; `size` is the virtual size already rounded up to whole 512-byte sectors.
 * Throws ImageSpecError with qemu-img's message where qemu-img refuses the spec.
 */
export type ImageWriter = (spec: ImageSpec, size: number) => ImageLayout;
