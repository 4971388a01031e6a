/**
 * A sparse map of written byte ranges: sorted, non-overlapping extents, each a fill or literal
 * bytes. What was never written is a gap, which the owner fills (from the file on disk, or zeros).
 */
import { Data, type Segment } from "./data.js";

/** Extents of literal bytes next to each other merge up to this size (metadata writes are small). */
const MERGE_BYTES_LIMIT = 64 * 1024;

type Stored = Exclude<Segment, { kind: "untouched" }>;

interface Extent {
  start: number;
  seg: Stored;
}

/** A piece of a read: stored data, or a gap of `length` bytes at `offset`. */
export type ExtentPiece = { offset: number; length: number; data: Data | null };

function len(seg: Stored): number {
  return seg.kind === "bytes" ? seg.bytes.length : seg.length;
}

function cut(seg: Stored, from: number, to: number): Stored {
  return seg.kind === "bytes" ? { kind: "bytes", bytes: seg.bytes.subarray(from, to) } : { kind: "fill", length: to - from, byte: seg.byte };
}

export class ExtentMap {
  #extents: Extent[] = [];

  /** How many extents are stored (for tests and benchmarks). */
  get size(): number {
    return this.#extents.length;
  }

  /** Index of the first extent ending after `offset`. */
  #firstAfter(offset: number): number {
    let lo = 0;
    let hi = this.#extents.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const e = this.#extents[mid]!;
      if (e.start + len(e.seg) <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Store `data` at `offset`, replacing what was there; untouched bytes are stored as zeros. */
  write(offset: number, data: Data): void {
    if (data.length === 0) return;
    this.#replace(offset, offset + data.length, data.resolveUntouched(0).segments as Stored[]);
  }

  /** Forget [offset, offset + length): a gap again, as a punched hole is. */
  clear(offset: number, length: number): void {
    if (length > 0) this.#replace(offset, offset + length, []);
  }

  /** Put `segments` (nothing: a gap) in place of [offset, end). */
  #replace(offset: number, end: number, segments: readonly Stored[]): void {
    const first = this.#firstAfter(offset);
    let last = first;
    while (last < this.#extents.length && this.#extents[last]!.start < end) last++;
    const fresh: Extent[] = [];
    const head = this.#extents[first];
    if (head && head.start < offset) fresh.push({ start: head.start, seg: cut(head.seg, 0, offset - head.start) });
    let pos = offset;
    for (const seg of segments) {
      fresh.push({ start: pos, seg });
      pos += len(seg);
    }
    const tail = last > first ? this.#extents[last - 1]! : undefined;
    if (tail && tail.start + len(tail.seg) > end) fresh.push({ start: end, seg: cut(tail.seg, end - tail.start, len(tail.seg)) });
    this.#extents.splice(first, last - first, ...fresh);
    this.#coalesce(Math.max(0, first - 1), first + fresh.length + 1);
  }

  /** Merge neighbours in [from, to): fills of one byte, and small runs of literal bytes. */
  #coalesce(from: number, to: number): void {
    let i = from;
    while (i < Math.min(to, this.#extents.length) - 1) {
      const a = this.#extents[i]!;
      const b = this.#extents[i + 1]!;
      const touching = a.start + len(a.seg) === b.start;
      let merged: Stored | undefined;
      if (touching && a.seg.kind === "fill" && b.seg.kind === "fill" && a.seg.byte === b.seg.byte) {
        merged = { kind: "fill", length: a.seg.length + b.seg.length, byte: a.seg.byte };
      } else if (touching && a.seg.kind === "bytes" && b.seg.kind === "bytes" && a.seg.bytes.length + b.seg.bytes.length <= MERGE_BYTES_LIMIT) {
        merged = { kind: "bytes", bytes: Buffer.concat([a.seg.bytes, b.seg.bytes]) };
      }
      if (merged) {
        this.#extents.splice(i, 2, { start: a.start, seg: merged });
        to--;
      } else {
        i++;
      }
    }
  }

  /** [offset, offset + length) as stored pieces and gaps, in order. */
  read(offset: number, length: number): ExtentPiece[] {
    const out: ExtentPiece[] = [];
    const end = offset + length;
    let pos = offset;
    for (let i = this.#firstAfter(offset); i < this.#extents.length && pos < end; i++) {
      const e = this.#extents[i]!;
      if (e.start >= end) break;
      if (e.start > pos) {
        out.push({ offset: pos, length: e.start - pos, data: null });
        pos = e.start;
      }
      const to = Math.min(end, e.start + len(e.seg));
      const seg = cut(e.seg, pos - e.start, to - e.start);
      out.push({ offset: pos, length: to - pos, data: seg.kind === "bytes" ? Data.bytes(seg.bytes) : Data.fill(seg.length, seg.byte) });
      pos = to;
    }
    if (pos < end) out.push({ offset: pos, length: end - pos, data: null });
    return out;
  }

  /** Forget everything at or after `length` (the file was truncated). */
  truncate(length: number): void {
    const i = this.#firstAfter(length);
    const e = this.#extents[i];
    if (e && e.start < length) {
      this.#extents.splice(i, this.#extents.length - i, { start: e.start, seg: cut(e.seg, 0, length - e.start) });
    } else {
      this.#extents.splice(i);
    }
  }
}
