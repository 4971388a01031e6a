/**
 * The qemu engine writes plain raw, qcow2, qed, qcow and parallels images in-process instead of running qemu-img: the
 * files must stay byte-identical to `qemu-img create`'s, with the same allocation (QEMU reports it
 * as actual-size) and mode, for every option set the engine writes itself; everything else must
 * still go to qemu-img.
 */
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ImageSpec } from "../../src/engines/engine.js";
import { createImage, PristineImages, qemuImgCreateArgs, writtenInProcess } from "../../src/engines/qemu/images.js";
import { QemuImgError } from "../../src/engines/qemu/errors.js";
import { describeWithQemu } from "../support/qemu.js";

const img = process.env.QEMU_IMG_PROG ?? "qemu-img";
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "blockcheck-inproc-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The sizes scenarios use, and the edges of the qcow2 layout (L1 table growing past a cluster). */
const SIZES = [0, 1, 511, 512, 1000, 4095, 4096, 65536, 1 << 20, 3 << 20, 64 << 20, 1 << 30, 512 * 2 ** 30 + 512, 2 ** 40];

const SPECS: ImageSpec[] = SIZES.flatMap((size) => [
  { path: `r-${size}.img`, format: "raw" as const, size },
  { path: `q-${size}.qcow2`, format: "qcow2" as const, size },
  { path: `e-${size}.qed`, format: "qed" as const, size },
  { path: `c-${size}.qcow`, format: "qcow" as const, size },
  { path: `p-${size}.parallels`, format: "parallels" as const, size },
]);

/**
 * Whether two files of `size` bytes hold the same bytes: all of them up to 16 MiB, else the first
 * 16 MiB and the last MiB (a large raw image is a hole beyond its first block, and equal block counts
 * already say the holes match).
 */
function sameBytes(a: string, b: string, size: number): boolean {
  const HEAD = 16 << 20;
  const ranges: [number, number][] = size <= HEAD ? [[0, size]] : [[0, HEAD], [size - (1 << 20), 1 << 20]];
  const [fa, fb] = [openSync(a, "r"), openSync(b, "r")];
  try {
    return ranges.every(([pos, len]) => {
      const [x, y] = [Buffer.alloc(len), Buffer.alloc(len)];
      return readSync(fa, x, 0, len, pos) === len && readSync(fb, y, 0, len, pos) === len && x.equals(y);
    });
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

describe("which images are written in-process", () => {
  it("takes plain raw, qcow2, qed, qcow and parallels images and leaves the rest to qemu-img", () => {
    expect(writtenInProcess({ path: "a.qcow2", format: "qcow2", size: 1 << 20 })).toBe(true);
    for (const format of ["qed", "qcow", "parallels"]) expect(writtenInProcess({ path: "a.x", format, size: 1 << 20 }), format).toBe(true);
    // qemu-img draws UUIDs and reads the clock for these.
    for (const format of ["vdi", "vpc", "vhdx"]) expect(writtenInProcess({ path: "a.x", format, size: 1 << 20 }), format).toBe(false);
    expect(writtenInProcess({ path: "a.qed", format: "qed", size: 1 << 20, createOptions: [["table_size", "2"]] })).toBe(false);
    expect(writtenInProcess({ path: "a.parallels", format: "parallels", size: 1 << 20, backingFile: "b.img", backingFormat: "raw" })).toBe(false);
    expect(writtenInProcess({ path: "sub/a.img", format: "raw", size: 0 })).toBe(true);
    expect(writtenInProcess({ path: "t.qcow2", format: "qcow2", size: 1 << 20, backingFile: "b.qcow2", backingFormat: "qcow2" })).toBe(false);
    expect(writtenInProcess({ path: "t.qcow2", format: "qcow2", size: 1 << 20, dataFile: "d.raw" })).toBe(false);
    expect(writtenInProcess({ path: "nbd:x", format: "raw", size: 512 })).toBe(false);
    expect(writtenInProcess({ path: "a,b.img", format: "raw", size: 512 })).toBe(false);
    expect(writtenInProcess({ path: "big.qcow2", format: "qcow2", size: 2 ** 40 + 512 })).toBe(false);
    expect(writtenInProcess({ path: "odd.img", format: "raw", size: 1.5 })).toBe(false);
  });

  it("takes a backing file only when it is pristine: written here, in that format, no command since", () => {
    const pristine = new PristineImages();
    pristine.add({ path: "base.qcow2", format: "qcow2", size: 1 << 20 });
    pristine.add({ path: "sub/raw.img", format: "raw", size: 1 << 20 });
    const top = (backingFile: string, backingFormat: string, path = "top.qcow2"): ImageSpec => ({ path, format: "qcow2", size: 1 << 20, backingFile, backingFormat });
    expect(writtenInProcess(top("base.qcow2", "qcow2"), pristine)).toBe(true);
    expect(writtenInProcess(top("./base.qcow2", "qcow2"), pristine)).toBe(true);
    // Relative to the image's directory, as qemu-img resolves it.
    expect(writtenInProcess(top("raw.img", "raw", "sub/t.qcow2"), pristine)).toBe(true);
    expect(writtenInProcess(top("../base.qcow2", "qcow2", "sub/t.qcow2"), pristine)).toBe(true);
    expect(writtenInProcess(top("raw.img", "raw"), pristine)).toBe(false);
    // Another format than it was written in: qemu-img may refuse it ("Image is not in qcow2 format").
    expect(writtenInProcess(top("sub/raw.img", "qcow2"), pristine)).toBe(false);
    expect(writtenInProcess(top("base.qcow2", "qcow2"))).toBe(false);
    expect(writtenInProcess({ ...top("base.qcow2", "qcow2"), format: "raw" }, pristine)).toBe(false);
    expect(writtenInProcess(top("base.qcow2", "qcow2", "base.qcow2"), pristine)).toBe(false);
    expect(writtenInProcess(top("nbd:base.qcow2", "qcow2"), pristine)).toBe(false);
    pristine.clear();
    expect(writtenInProcess(top("base.qcow2", "qcow2"), pristine)).toBe(false);
  });
});

describeWithQemu("in-process images against qemu-img create", () => {
  const opts = () => ({ binary: img, workdir: dir, timeoutMs: 30_000 });

  it("writes every plain option set byte for byte, block for block, as qemu-img does", async () => {
    for (const spec of SPECS) {
      expect(writtenInProcess(spec)).toBe(true);
      const ours = path.join(dir, spec.path);
      const theirs = path.join(dir, `qemu-img-${spec.path}`);
      let refused: string | undefined;
      try {
        execFileSync(img, qemuImgCreateArgs({ ...spec, path: theirs }), { stdio: "pipe" });
      } catch (e) {
        refused = String((e as { stderr?: Buffer }).stderr).trim();
      }
      if (refused !== undefined) {
        // What qemu-img refuses (a qcow image of 0 bytes) the writer refuses too: qemu-img then runs,
        // says why, and leaves what it leaves.
        await expect(createImage(spec, opts())).rejects.toThrow(refused.slice(refused.indexOf(theirs) + theirs.length));
        expect(existsSync(ours), spec.path).toBe(existsSync(theirs));
        rmSync(ours, { force: true });
        rmSync(theirs, { force: true });
        continue;
      }
      await createImage(spec, opts());
      const [a, b] = [statSync(ours), statSync(theirs)];
      expect({ spec, size: a.size, blocks: a.blocks, mode: a.mode }).toEqual({ spec, size: b.size, blocks: b.blocks, mode: b.mode });
      expect(sameBytes(ours, theirs, a.size), `${spec.path} differs from qemu-img's`).toBe(true);
      rmSync(ours);
      rmSync(theirs);
    }
  });

  it("writes an image over a pristine backing chain as qemu-img does, and joins the chain", async () => {
    const pristine = new PristineImages();
    const specs: ImageSpec[] = [
      { path: "base.qcow2", format: "qcow2", size: 3 << 20 },
      { path: "raw.img", format: "raw", size: 1 << 20 },
      { path: "mid.qcow2", format: "qcow2", size: 3 << 20, backingFile: "base.qcow2", backingFormat: "qcow2" },
      { path: "sub/top.qcow2", format: "qcow2", size: 1 << 30, backingFile: "../mid.qcow2", backingFormat: "qcow2" },
      { path: "over-raw.qcow2", format: "qcow2", size: 512, backingFile: "raw.img", backingFormat: "raw" },
      { path: "over-raw.qed", format: "qed", size: 2 << 20, backingFile: "raw.img", backingFormat: "raw" },
      { path: "over-mid.qcow", format: "qcow", size: 1 << 20, backingFile: "mid.qcow2", backingFormat: "qcow2" },
      { path: "over-qed.qcow2", format: "qcow2", size: 1 << 20, backingFile: "over-raw.qed", backingFormat: "qed" },
      { path: "plain.parallels", format: "parallels", size: 1 << 20 },
    ];
    for (const spec of specs) {
      expect(writtenInProcess(spec, pristine), spec.path).toBe(true);
      await createImage(spec, { ...opts(), pristine });
      expect(pristine.formatOf(spec.path)).toBe(spec.format);
    }
    // qemu-img makes the same chain in a directory of its own, opening each backing file as it goes.
    const theirDir = path.join(dir, "qemu-img");
    execFileSync("mkdir", ["-p", path.join(theirDir, "sub")]);
    for (const spec of specs) execFileSync(img, qemuImgCreateArgs(spec), { cwd: theirDir });
    for (const spec of specs) {
      const [ours, theirs] = [path.join(dir, spec.path), path.join(theirDir, spec.path)];
      const [a, b] = [statSync(ours), statSync(theirs)];
      expect({ path: spec.path, size: a.size, blocks: a.blocks }).toEqual({ path: spec.path, size: b.size, blocks: b.blocks });
      expect(sameBytes(ours, theirs, a.size), `${spec.path} differs from qemu-img's`).toBe(true);
    }
  });

  it("leaves an existing file to qemu-img, which replaces it as before", async () => {
    const spec: ImageSpec = { path: "x.qcow2", format: "qcow2", size: 1 << 20 };
    writeFileSync(path.join(dir, "x.qcow2"), "not an image");
    await createImage(spec, opts());
    execFileSync(img, qemuImgCreateArgs({ ...spec, path: path.join(dir, "y.qcow2") }));
    expect(readFileSync(path.join(dir, "x.qcow2")).equals(readFileSync(path.join(dir, "y.qcow2")))).toBe(true);
  });

  it("still reports qemu-img's own message for what qemu-img refuses", async () => {
    const spec: ImageSpec = { path: "t.qcow2", format: "qcow2", size: 1 << 20, backingFile: "missing.qcow2", backingFormat: "qcow2" };
    await expect(createImage(spec, opts())).rejects.toThrow(QemuImgError);
    await expect(createImage(spec, opts())).rejects.toThrow(/missing\.qcow2/);
  });

  it("falls back to qemu-img when the in-process write cannot be made, and leaves no file of its own", async () => {
    // A directory where the image should go: the in-process open fails, and so does qemu-img, with its message.
    const spec: ImageSpec = { path: "d.qcow2", format: "qcow2", size: 1 << 20 };
    execFileSync("mkdir", [path.join(dir, "d.qcow2")]);
    await expect(createImage(spec, opts())).rejects.toThrow(QemuImgError);
    expect(statSync(path.join(dir, "d.qcow2")).isDirectory()).toBe(true);
  });
});
