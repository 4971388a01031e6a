/**
 * SEEK_DATA over unwritten extents, as the page cache and readahead leave it. The expectations were
 * measured on the ext4 scratch directories of the machine the model is checked on (read_ahead_kb
 * 8192), with fallocate(FALLOC_FL_ZERO_RANGE) and buffered preads on one descriptor, then
 * lseek(SEEK_DATA/SEEK_HOLE) from the start.
 */
import { describe, expect, it } from "vitest";
import { Data } from "../../../src/engines/model/data/data.js";
import { MemoryFile } from "../../../src/engines/model/data/host-file.js";
import { newReadaheadState } from "../../../src/engines/model/data/page-cache.js";

const K = 1024;
const M = 1 << 20;

type Op = ["zero" | "read" | "write" | "allocate" | "sync", number, number];

/** The data extents SEEK_DATA/SEEK_HOLE find from the start of a 1 MiB file after `ops`. */
function dataExtents(ops: Op[]): string[] {
  const f = new MemoryFile("/nonexistent/f");
  f.truncate(M);
  const ra = newReadaheadState();
  for (const [op, offset, length] of ops) {
    if (op === "zero") f.zeroRange(offset, length);
    else if (op === "read") f.readahead(offset, length, ra);
    else if (op === "write") f.write(offset, Data.fill(length, 0x78));
    else if (op === "allocate") f.allocate(offset, length);
    else f.sync();
  }
  const out: string[] = [];
  for (let offset = 0; offset < M; ) {
    const found = f.findAllocation(offset);
    if (found === "ENXIO") break;
    // In a hole: the answer is where the next data starts.
    if (found.data > offset) {
      offset = found.data;
      continue;
    }
    out.push(`${found.data / K}k..${found.hole / K}k`);
    offset = found.hole;
  }
  return out;
}

describe("page cache and SEEK_DATA", () => {
  it("finds no data in what fallocate zeroed or preallocated, while no page of it is cached", () => {
    expect(dataExtents([["zero", 4 * K, 64 * K]])).toEqual([]);
    expect(dataExtents([["write", 0, 8 * K], ["zero", 0, 64 * K]])).toEqual([]);
    expect(dataExtents([["write", 0, 8 * K], ["sync", 0, 0], ["zero", 0, 64 * K]])).toEqual([]);
    expect(dataExtents([["allocate", 0, 64 * K]])).toEqual([]);
    // The partial blocks at a zeroed range's edges are zeroed in place: data.
    expect(dataExtents([["write", 0, 4 * K], ["zero", 100, 200]])).toEqual(["0k..4k"]);
  });

  it("finds data where a write went into a zeroed range, written back or not", () => {
    expect(dataExtents([["zero", 0, 64 * K], ["write", 8 * K, 4 * K]])).toEqual(["8k..12k"]);
    expect(dataExtents([["zero", 0, 64 * K], ["write", 8 * K, 100], ["sync", 0, 0]])).toEqual(["8k..12k"]);
  });

  it("finds data where reads and their readahead cached pages", () => {
    const zeroed: Op = ["zero", 0, M];
    // From the start of the file: a window of four times the request, rounded to a power of two.
    expect(dataExtents([zeroed, ["read", 0, 512]])).toEqual(["0k..16k"]);
    expect(dataExtents([zeroed, ["read", 0, 4 * K]])).toEqual(["0k..16k"]);
    expect(dataExtents([zeroed, ["read", 0, 8 * K]])).toEqual(["0k..32k"]);
    expect(dataExtents([zeroed, ["read", 0, 64 * K]])).toEqual(["0k..256k"]);
    expect(dataExtents([zeroed, ["read", 0, 128 * K]])).toEqual(["0k..512k"]);
    // A small read elsewhere reads just its pages; the next one sequential to it opens a window.
    expect(dataExtents([zeroed, ["read", 4 * K, 4 * K]])).toEqual(["4k..8k"]);
    expect(dataExtents([zeroed, ["read", 4 * K, 64 * K]])).toEqual(["4k..68k"]);
    expect(dataExtents([zeroed, ["read", 4 * K, 4 * K], ["read", 8 * K, 4 * K]])).toEqual(["4k..24k"]);
    expect(dataExtents([zeroed, ["read", 40 * K, 4 * K], ["read", 44 * K, 4 * K]])).toEqual(["40k..60k"]);
    // Reaching the window's marked page pushes it on, four times larger.
    expect(dataExtents([zeroed, ["read", 0, 4 * K], ["read", 4 * K, 4 * K]])).toEqual(["0k..80k"]);
    expect(dataExtents([zeroed, ["read", 0, 4 * K], ["read", 4 * K, 8 * K]])).toEqual(["0k..80k"]);
    expect(dataExtents([zeroed, ["read", 0, 64 * K], ["read", 64 * K, 64 * K]])).toEqual(["0k..1024k"]);
    expect(dataExtents([zeroed, ["read", 0, 64 * K], ["read", 64 * K, 4 * K]])).toEqual(["0k..1024k"]);
    // A read after a cached run from the start of the file: twice the run, plus the request.
    expect(dataExtents([zeroed, ["read", 0, 64 * K], ["read", 256 * K, 4 * K]])).toEqual(["0k..772k"]);
    // A read of a hole caches its pages; a later fallocate(0) keeps them.
    expect(dataExtents([["read", 0, 64 * K], ["allocate", 0, M]])).toEqual(["0k..256k"]);
    expect(dataExtents([["allocate", 0, 64 * K], ["read", 0, 8 * K]])).toEqual(["0k..32k"]);
  });

  it("forgets the cached pages a later zeroing drops", () => {
    expect(dataExtents([["zero", 0, M], ["read", 0, 64 * K], ["zero", 0, 128 * K]])).toEqual(["128k..256k"]);
  });
});
