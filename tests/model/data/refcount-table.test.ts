/**
 * The refcount table as the qcow2 model reads it at open: each entry `Number(entry & REFT_OFFSET_MASK)`,
 * whatever the table holds and wherever, including runs of zero entries the decoder skips whole,
 * and from the model's data as read (runs of zeros kept as runs) the same as from its bytes.
 */
import { describe, expect, it } from "vitest";
import { Data } from "../../../src/engines/model/data/data.js";
import { RefcountTable, refcountTableOf, refcountTableOffsets } from "../../../src/engines/model/data/qcow2/qcow2-image.js";
import { REFT_OFFSET_MASK } from "../../../src/engines/model/data/qcow2/qcow2-layout.js";

function reference(raw: Buffer): number[] {
  return Array.from({ length: raw.length / 8 }, (_, i) => Number(raw.readBigUInt64BE(i * 8) & REFT_OFFSET_MASK));
}

/** A deterministic table of `entries` with entries set at `set` (index → value). */
function table(entries: number, set: Array<[number, bigint]>): Buffer {
  const raw = Buffer.alloc(entries * 8);
  for (const [i, v] of set) raw.writeBigUInt64BE(v, i * 8);
  return raw;
}

describe("refcountTableOffsets", () => {
  it("keeps the blocks in table order, whatever order they were set in, and forgets an entry set to 0", () => {
    const t = new RefcountTable(16);
    t.set(9, 0x90000);
    t.set(2, 0x20000);
    t.set(5, 0x50000);
    t.set(5, 0);
    expect(t.blocks()).toEqual([0x20000, 0x90000]);
    expect(t.get(5)).toBe(0);
    expect(t.toArray()).toHaveLength(16);
  });

  it("decodes a fresh image's table: one block, the rest zero", () => {
    const raw = table(8192, [[0, 0x20000n]]);
    const got = refcountTableOffsets(raw);
    expect(got.toArray()).toEqual(reference(raw));
    expect(got.get(0)).toBe(0x20000);
    expect(got.blocks()).toEqual([0x20000]);
  });

  it("finds entries anywhere: at run boundaries, in the last short run, with reserved low bits", () => {
    const set: Array<[number, bigint]> = [
      [63, 0x10000n],
      [64, 0x30000n],
      [127, 0x40000n | 0x1ffn],
      [128, 0xffffffff_fffffe00n],
      [4000, 0x12345_6789a000n],
      [8191, 0x50000n],
      [8199, 0x60000n | 0x1n],
    ];
    const raw = table(8200, set);
    expect(refcountTableOffsets(raw).toArray()).toEqual(reference(raw));
  });

  it("agrees with the BigInt decoding on random tables", () => {
    let seed = 20261130;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let t = 0; t < 20; t++) {
      const entries = 1 + (next() % 700);
      const set: Array<[number, bigint]> = [];
      for (let k = next() % 12; k > 0; k--) set.push([next() % entries, (BigInt(next()) << 32n) | BigInt(next())]);
      const raw = table(entries, set);
      expect(refcountTableOffsets(raw).toArray()).toEqual(reference(raw));
    }
  });

  it("reads the same from data with runs as from its bytes, whatever the segments' boundaries", () => {
    const bytes = (...set: Array<[number, bigint]>) => table(4, set);
    const cases: Data[] = [
      // A fresh image's table as the model keeps it: one entry, then a run of zeros.
      Data.concat([Data.bytes(bytes([0, 0x20000n]).subarray(0, 8)), Data.zeros(65528)]),
      // Boundaries inside entries, on both sides of a run.
      Data.concat([Data.zeros(12), Data.bytes(bytes([0, 0x123456789a00n], [1, 0x30000n]).subarray(3, 17)), Data.zeros(4070)]),
      Data.concat([Data.bytes(Buffer.from([0, 0, 0, 0, 0, 1])), Data.bytes(Buffer.from([0, 0])), Data.zeros(1016)]),
      // A run of another byte, and bytes a driver left untouched (zeros, as toBuffer makes them).
      Data.concat([Data.fill(21, 0x11), Data.untouched(19), Data.bytes(bytes([2, 0x40000n])), Data.zeros(16)]),
      Data.zeros(65536),
    ];
    for (const data of cases) {
      const got = refcountTableOf(data);
      expect(got.toArray()).toEqual(refcountTableOffsets(data.toBuffer()).toArray());
      expect(got.length).toBe(data.length / 8);
    }
    expect(refcountTableOf(cases[0]!).get(0)).toBe(0x20000);
  });
});
