/**
 * DirtyBitmap keeps its chunks in lazily made pages, as QEMU's hbitmap costs nothing until it is
 * written: a bitmap of a 4 TiB node at 512 bytes (2^33 chunks) could not be one flat array. The
 * pages must answer exactly as one bit per chunk does; a naive reference checks them over random
 * operations that cross page edges, fill and empty whole pages, and resize.
 */
import { describe, expect, it } from "vitest";
import { DirtyBitmap } from "../../src/engines/model/jobs/dirty-bitmap.js";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";
import { createHash } from "node:crypto";

/** One byte per chunk, as the model kept them before. */
class Reference {
  bits: Uint8Array;
  constructor(
    readonly g: number,
    public length: number,
  ) {
    this.bits = new Uint8Array(Math.ceil(length / g));
  }
  mark(offset: number, bytes: number, v: number): void {
    if (bytes <= 0) return;
    const last = Math.min(Math.ceil((offset + bytes) / this.g), this.bits.length);
    for (let i = Math.floor(offset / this.g); i < last; i++) this.bits[i] = v;
  }
  truncate(length: number): void {
    const bits = new Uint8Array(Math.ceil(length / this.g));
    bits.set(this.bits.subarray(0, bits.length));
    this.bits = bits;
    this.length = length;
  }
  count(): number {
    return this.bits.reduce((a, b) => a + b, 0) * this.g;
  }
  next(offset: number): number | undefined {
    const i = this.bits.indexOf(1, Math.floor(offset / this.g));
    return i < 0 ? undefined : i * this.g;
  }
  sha256(): string {
    const words = Buffer.alloc(Math.max(Math.ceil(this.bits.length / 64), 1) * 8);
    this.bits.forEach((b, i) => {
      if (b) words[i >> 3]! |= 1 << (i & 7);
    });
    return createHash("sha256").update(words).digest("hex");
  }
}

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PAGE_BYTES = 65536 * 512;

describe("DirtyBitmap's pages", () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`answers as one bit per chunk (seed ${seed})`, () => {
      const rnd = random(seed);
      const g = 512;
      let length = Math.floor(2.5 * PAGE_BYTES) + 1000;
      const bm = new DirtyBitmap(g, length);
      const ref = new Reference(g, length);
      const other = new DirtyBitmap(g, length);
      for (let step = 0; step < 300; step++) {
        const op = rnd();
        // Ranges near page edges, whole pages, and the whole bitmap.
        const edge = Math.floor(rnd() * 4) * PAGE_BYTES;
        const offset = Math.max(0, Math.min(length - 1, edge + Math.floor((rnd() - 0.5) * 8192)));
        const bytes = rnd() < 0.2 ? length : Math.floor(rnd() * (rnd() < 0.3 ? 2 * PAGE_BYTES : 20000));
        if (op < 0.4) {
          const b = Math.min(bytes, length - offset);
          bm.set(offset, b);
          ref.mark(offset, b, 1);
        } else if (op < 0.75) {
          bm.reset(offset, bytes);
          ref.mark(offset, bytes, 0);
        } else if (op < 0.8) {
          length = Math.max(1, Math.floor(rnd() * 3.2 * PAGE_BYTES));
          bm.truncate(length);
          ref.truncate(length);
          other.truncate(length);
        } else if (op < 0.85) {
          other.clear();
          const b = Math.min(bytes, length - offset);
          other.set(offset, b);
          bm.mergeFrom(other);
          ref.mark(offset, b, 1);
        } else if (op < 0.9) {
          const saved = bm.snapshot();
          const savedRef = ref.bits.slice();
          bm.set(0, length);
          bm.restore(saved);
          ref.bits = savedRef;
        } else {
          const at = Math.floor(rnd() * length);
          expect(bm.next(at)).toBe(ref.next(at));
          expect(bm.get(at)).toBe(ref.bits[Math.floor(at / g)] === 1);
        }
        expect(bm.count()).toBe(ref.count());
      }
      expect(bm.sha256()).toBe(ref.sha256());
      // Across the first page edge when the bitmap still reaches it.
      const first = length > PAGE_BYTES + 70 * 64 * g ? PAGE_BYTES - 64 * 64 * g : 0;
      const part = bm.serializePart(first, 70 * 64 * g);
      const copy = new DirtyBitmap(g, length);
      copy.deserializePart(part, first, 70 * 64 * g);
      expect(copy.serializePart(first, 70 * 64 * g)).toEqual(part);
    });
  }

  it("makes, fills and hashes a bitmap of 2^33 chunks", () => {
    const bm = new DirtyBitmap(512, 4 * 2 ** 40);
    bm.set(2 ** 40, 3 * 2 ** 40);
    expect(bm.count()).toBe(3 * 2 ** 40);
    expect(bm.next(0)).toBe(2 ** 40);
    bm.reset(2 ** 41 + 512, 512);
    expect(bm.next(2 ** 41 + 512)).toBe(2 ** 41 + 1024);
    expect(bm.count()).toBe(3 * 2 ** 40 - 512);
  });
});

const run = inlineRunner(60_000);

const huge = [
  'scenario "dirty bitmap with 2^33 granules"',
  "add n: null-co size=4T",
  'qmp block-dirty-bitmap-add {"node": "n", "name": "h", "granularity": 512}',
  "show node n dirty-bitmaps",
  "",
].join("\n");

describe("a dirty bitmap of 2^33 chunks on the model", () => {
  it("is made", async () => {
    const r = await run(huge, new ModelEngine());
    expect(r.failures).toEqual([]);
  });
});

describeWithQemu("a dirty bitmap of 2^33 chunks on QEMU", () => {
  it("gives the model's transcript", { timeout: 60_000 }, async () => {
    const qemu = await run(huge, new QemuEngine());
    expect(qemu.failures).toEqual([]);
    expect(qemu.transcript).toBe((await run(huge, new ModelEngine())).transcript);
  });
});
