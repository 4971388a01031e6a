/** The data model's pieces: Data values, the sparse ExtentMap, and a HostFile over a real file. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Data } from "../../../src/engines/model/data/data.js";
import { ExtentMap } from "../../../src/engines/model/data/extent-map.js";
import { HostFile } from "../../../src/engines/model/data/host-file.js";

describe("Data", () => {
  it("keeps patterns as fills, merges neighbours, slices and compares without a buffer", () => {
    const d = Data.concat([Data.fill(1 << 30, 0xa5), Data.fill(1 << 30, 0xa5), Data.bytes(Buffer.from([1, 2, 3]))]);
    expect(d.length).toBe(2 ** 31 + 3);
    expect(d.segments).toHaveLength(2);
    expect(d.slice(5, 100).firstMismatch(0xa5)).toBe(-1);
    expect(d.slice(2 ** 31 - 2, 4).toBuffer()).toEqual(Buffer.from([0xa5, 0xa5, 1, 2]));
    expect(d.firstMismatch(0xa5)).toBe(2 ** 31);
  });

  it("stands for bytes nobody wrote, which callers resolve to what their buffer held", () => {
    const d = Data.concat([Data.zeros(2), Data.untouched(2)]);
    expect(d.isZero()).toBe(false);
    expect(d.resolveUntouched(0xab).toBuffer()).toEqual(Buffer.from([0, 0, 0xab, 0xab]));
  });
});

describe("ExtentMap", () => {
  it("reads what was written over a plain buffer, for any sequence of writes", () => {
    const SIZE = 256;
    const write = fc.record({ offset: fc.nat(SIZE - 1), length: fc.integer({ min: 1, max: 64 }), byte: fc.nat(255), literal: fc.boolean() });
    fc.assert(
      fc.property(fc.array(write, { maxLength: 30 }), fc.nat(SIZE - 1), fc.integer({ min: 1, max: SIZE }), (writes, at, len) => {
        const map = new ExtentMap();
        const plain = Buffer.alloc(2 * SIZE + 64);
        const written = new Uint8Array(2 * SIZE + 64);
        for (const w of writes) {
          const data = w.literal ? Data.bytes(Buffer.from(Array.from({ length: w.length }, (_, i) => (w.byte + i) & 255))) : Data.fill(w.length, w.byte);
          map.write(w.offset, data);
          data.toBuffer().copy(plain, w.offset);
          written.fill(1, w.offset, w.offset + w.length);
        }
        for (const piece of map.read(at, len)) {
          for (let i = 0; i < piece.length; i++) {
            expect(written[piece.offset + i]).toBe(piece.data ? 1 : 0);
            if (piece.data) expect(piece.data.toBuffer()[i]).toBe(plain[piece.offset + i]);
          }
        }
      }),
    );
  });

  it("keeps few extents for many neighbouring writes of one pattern", () => {
    const map = new ExtentMap();
    for (let i = 0; i < 1000; i++) map.write(i * 65536, Data.fill(65536, 0x5a));
    expect(map.size).toBe(1);
  });
});

describe("HostFile", () => {
  it("writes through to disk, reads the disk where it wrote nothing, and notices a rewritten file", () => {
    const dir = mkdtempSync(join(tmpdir(), "bc-hostfile-"));
    try {
      const path = join(dir, "f");
      writeFileSync(path, Buffer.from("abcdefgh"));
      const f = new HostFile(path);
      f.write(2, Data.fill(3, 0x58));
      expect(readFileSync(path, "latin1")).toBe("abXXXfgh");
      expect(f.read(0, 10).toBuffer().toString("latin1")).toBe("abXXXfgh\0\0");
      f.write(12, Data.fill(2, 0x59));
      expect(f.length).toBe(14);
      writeFileSync(path, Buffer.from("new"));
      expect(f.read(0, 4).toBuffer().toString("latin1")).toBe("new\0");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
