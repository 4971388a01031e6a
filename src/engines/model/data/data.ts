/**
 * Guest data as the model carries it through the I/O path: a run of segments, each either a byte
 * repeated (what `write -P 0xa5` writes, and zeros) or literal bytes (metadata, compressed data),
 * so a gigabyte written with a pattern costs a few objects, not a gigabyte of memory.
 *
 * A third kind stands for bytes a driver did not touch: null-co without `read-zeroes` leaves the
 * caller's buffer as it was (null_co_preadv), and what the caller then sees is whatever its buffer
 * held (qemu-io fills its read buffer with 0xab first, `qemu_io_alloc`).
 */

/** One run of bytes. */
export type Segment =
  | { readonly kind: "fill"; readonly length: number; readonly byte: number }
  | { readonly kind: "bytes"; readonly bytes: Buffer }
  | { readonly kind: "untouched"; readonly length: number };

function segmentLength(s: Segment): number {
  return s.kind === "bytes" ? s.bytes.length : s.length;
}

/** Immutable: every operation returns a new Data. */
export class Data {
  private constructor(
    readonly segments: readonly Segment[],
    readonly length: number,
  ) {}

  static readonly EMPTY = new Data([], 0);

  /** `length` bytes of `byte`. */
  static fill(length: number, byte: number): Data {
    return length === 0 ? Data.EMPTY : new Data([{ kind: "fill", length, byte: byte & 0xff }], length);
  }

  static zeros(length: number): Data {
    return Data.fill(length, 0);
  }

  /** These bytes (the buffer is not copied: callers hand over buffers they no longer change). */
  static bytes(bytes: Buffer): Data {
    return bytes.length === 0 ? Data.EMPTY : new Data([{ kind: "bytes", bytes }], bytes.length);
  }

  /** Bytes the driver left as the caller's buffer had them. */
  static untouched(length: number): Data {
    return length === 0 ? Data.EMPTY : new Data([{ kind: "untouched", length }], length);
  }

  /** The parts one after the other; neighbouring fills of one byte merge. */
  static concat(parts: readonly Data[]): Data {
    const out: Segment[] = [];
    let length = 0;
    for (const p of parts) {
      for (const s of p.segments) {
        const last = out[out.length - 1];
        if (last && last.kind === "fill" && s.kind === "fill" && last.byte === s.byte) {
          out[out.length - 1] = { kind: "fill", length: last.length + s.length, byte: s.byte };
        } else if (last && last.kind === "untouched" && s.kind === "untouched") {
          out[out.length - 1] = { kind: "untouched", length: last.length + s.length };
        } else {
          out.push(s);
        }
      }
      length += p.length;
    }
    return length === 0 ? Data.EMPTY : new Data(out, length);
  }

  /** `length` bytes from `offset` (both within this Data). */
  slice(offset: number, length: number): Data {
    if (offset < 0 || length < 0 || offset + length > this.length) throw new RangeError(`Data.slice(${offset}, ${length}) of ${this.length} bytes`);
    if (offset === 0 && length === this.length) return this;
    const out: Segment[] = [];
    let pos = 0;
    const end = offset + length;
    for (const s of this.segments) {
      const len = segmentLength(s);
      const from = Math.max(offset, pos);
      const to = Math.min(end, pos + len);
      if (from < to) {
        if (s.kind === "bytes") out.push({ kind: "bytes", bytes: s.bytes.subarray(from - pos, to - pos) });
        else out.push({ ...s, length: to - from });
      }
      pos += len;
      if (pos >= end) break;
    }
    return new Data(out, length);
  }

  /** The same data with untouched bytes taken to be `byte` (what the caller's buffer held). */
  resolveUntouched(byte: number): Data {
    if (!this.segments.some((s) => s.kind === "untouched")) return this;
    return Data.concat(this.segments.map((s) => (s.kind === "untouched" ? Data.fill(s.length, byte) : new Data([s], segmentLength(s)))));
  }

  /** Every byte, untouched ones as `untouchedByte`. */
  toBuffer(untouchedByte = 0): Buffer {
    // Not zeroed first: the segments cover every byte.
    const buf = Buffer.allocUnsafe(this.length);
    let pos = 0;
    for (const s of this.segments) {
      if (s.kind === "bytes") s.bytes.copy(buf, pos);
      else if (s.kind === "fill") buf.fill(s.byte, pos, pos + s.length);
      else buf.fill(untouchedByte, pos, pos + s.length);
      pos += segmentLength(s);
    }
    return buf;
  }

  /** Offset of the first byte that is not `byte` (untouched bytes count as `untouchedByte`), or -1. */
  firstMismatch(byte: number, untouchedByte = 0): number {
    let pos = 0;
    for (const s of this.segments) {
      if (s.kind === "fill" || s.kind === "untouched") {
        if ((s.kind === "fill" ? s.byte : untouchedByte) !== byte) return pos;
      } else {
        for (let i = 0; i < s.bytes.length; i++) if (s.bytes[i] !== byte) return pos + i;
      }
      pos += segmentLength(s);
    }
    return -1;
  }

  /** `buffer_is_zero` / `qemu_iovec_is_zero`; untouched bytes are not known to be zero. */
  isZero(): boolean {
    return this.segments.every((s) => s.kind !== "untouched") && this.firstMismatch(0) < 0;
  }
}
