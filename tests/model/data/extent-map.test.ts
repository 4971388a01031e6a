/** The data model's pieces: Data values, the sparse ExtentMap, and the host files (in memory, or over a real file). */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Data } from "../../../src/engines/model/data/data.js";
import { ExtentMap } from "../../../src/engines/model/data/extent-map.js";
import { DiskFile, HostFiles, MemoryFile } from "../../../src/engines/model/data/host-file.js";

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

describe("DiskFile", () => {
  it("writes through to disk, reads the disk where it wrote nothing, and notices a rewritten file", () => {
    const dir = mkdtempSync(join(tmpdir(), "bc-hostfile-"));
    try {
      const path = join(dir, "f");
      writeFileSync(path, Buffer.from("abcdefgh"));
      const f = new DiskFile(path);
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

/** A MemoryFile and a DiskFile on one empty file of a scratch directory, to do the same to both. */
function withFileOnDisk(body: (path: string, f: MemoryFile, disk: DiskFile) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "bc-memfile-"));
  try {
    const path = join(dir, "f");
    writeFileSync(path, "");
    body(path, new MemoryFile(path), new DiskFile(path));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("MemoryFile", () => {
  it("reads what was written, zeros elsewhere, and never touches the disk until written out", () => {
    const dir = mkdtempSync(join(tmpdir(), "bc-memfile-"));
    try {
      const path = join(dir, "sub", "f");
      const f = new MemoryFile(path);
      f.write(2, Data.fill(3, 0x58));
      expect(f.length).toBe(5);
      expect(f.read(0, 7).toBuffer().toString("latin1")).toBe("\0\0XXX\0\0");
      expect(existsSync(path)).toBe(false);
      f.truncate(9);
      f.writeOut();
      expect(readFileSync(path, "latin1")).toBe("\0\0XXX\0\0\0\0");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("allocates the 4 KiB blocks writes touch, as the file system does (zeros too; truncation frees)", () => {
    const dir = mkdtempSync(join(tmpdir(), "bc-memfile-"));
    try {
      const path = join(dir, "f");
      const f = new MemoryFile(path);
      const steps: ((t: { write(o: number, d: Data): void; truncate(n: number): void }) => void)[] = [
        (t) => t.write(0, Data.zeros(512)),
        (t) => t.write(4095, Data.fill(2, 1)),
        (t) => t.truncate(1 << 20),
        (t) => t.write(65536, Data.fill(65536, 7)),
        (t) => t.write(300000, Data.zeros(10)),
        (t) => t.truncate(70000),
        (t) => t.truncate(200000),
      ];
      // The same operations on a real file: st_blocks must agree after every step.
      const disk = new DiskFile(path);
      writeFileSync(path, "");
      for (const step of steps) {
        step(f);
        step(disk);
        expect(f.allocatedBytes()).toBe(disk.allocatedBytes());
        expect(f.length).toBe(disk.length);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("punches holes as fallocate(PUNCH_HOLE | KEEP_SIZE) does: whole blocks go, partial ones stay, nothing grows", () => {
    withFileOnDisk((path, f, disk) => {
      const punch = (offset: number, length: number) => {
        f.punch(offset, length);
        // util-linux fallocate, which QEMU's file-posix calls the same way.
        execFileSync("fallocate", ["--punch-hole", "--keep-size", "--offset", String(offset), "--length", String(length), path]);
      };
      const write = (offset: number, data: Data) => {
        f.write(offset, data);
        disk.write(offset, data);
      };
      write(0, Data.fill(262144, 0x11));
      for (const [offset, length] of [[4096, 8192], [20000, 10000], [65536, 65536], [100, 50], [250000, 100000], [262144, 4096]] as const) {
        punch(offset, length);
        expect(f.allocatedBytes(), `punch ${offset} ${length}`).toBe(Number(statSync(path).blocks) * 512);
        expect(f.length).toBe(statSync(path).size);
        expect(f.read(0, 262144).toBuffer().equals(readFileSync(path))).toBe(true);
      }
      expect(f.findAllocation(4096)).toEqual({ data: 12288, hole: 4096 });
    });
  });

  it("allocates as fallocate(0) does: the holes of the range, partial blocks at its edges too, the file grown", () => {
    withFileOnDisk((path, f, disk) => {
      f.write(0, Data.fill(10000, 0x11));
      disk.write(0, Data.fill(10000, 0x11));
      f.truncate(100000);
      disk.truncate(100000);
      for (const [offset, length] of [[100000, 50000], [20000, 5000], [8000, 100], [200000, 1000], [30000, 300000]] as const) {
        f.allocate(offset, length);
        // util-linux fallocate without a mode flag: posix_fallocate's call, as file-posix makes it.
        execFileSync("fallocate", ["--offset", String(offset), "--length", String(length), path]);
        // The data blocks exactly; ext4 may spend one more on its extent tree, as it found free
        // blocks apart or not for allocations the model counts as one extent.
        const extra = Number(statSync(path).blocks) * 512 - f.allocatedBytes();
        expect([0, 4096], `allocate ${offset} ${length}: ${extra} bytes more on disk`).toContain(extra);
        expect(f.length).toBe(statSync(path).size);
        expect(f.read(0, f.length).toBuffer().equals(readFileSync(path))).toBe(true);
      }
    });
  });

  it("answers SEEK_DATA/SEEK_HOLE from the blocks written: holes where nothing was, the end a hole", () => {
    const f = new MemoryFile("/nonexistent/f");
    expect(f.findAllocation(0)).toBe("ENXIO");
    f.write(0, Data.zeros(4096));
    f.truncate(1 << 20);
    f.write(65536 + 100, Data.fill(10, 1));
    // In the first block, data up to the hole after it.
    expect(f.findAllocation(512)).toEqual({ data: 512, hole: 4096 });
    // In a hole: the next data starts at the block the second write touched.
    expect(f.findAllocation(4096)).toEqual({ data: 65536, hole: 4096 });
    expect(f.findAllocation(65536 + 2000)).toEqual({ data: 65536 + 2000, hole: 65536 + 4096 });
    // Only a hole left up to the end, or at and past the end.
    expect(f.findAllocation(65536 + 4096)).toBe("ENXIO");
    expect(f.findAllocation(1 << 20)).toBe("ENXIO");
    // Data running into the end: the hole is the end of the file, not of its last block.
    f.write(1000000, Data.fill(48576, 2));
    expect(f.length).toBe(1 << 20);
    f.truncate(1048000);
    expect(f.findAllocation(1000000)).toEqual({ data: 1000000, hole: 1048000 });
  });
});

describe("HostFiles", () => {
  it("holds the files it made and their directories; other paths are the disk's", () => {
    const files = new HostFiles();
    const made = files.create("/nonexistent-dir/x/img");
    expect(files.get("/nonexistent-dir/x/img")).toBe(made);
    expect(files.entry("/nonexistent-dir/x").kind).toBe("directory");
    expect(files.entry("/nonexistent-dir/x/other").kind).toBe("disk");
    expect(files.get("/nonexistent-dir/x/other")).toBeInstanceOf(DiskFile);
    expect(files.realpath("/nonexistent-dir/x/other")).toBeNull();
  });
});
