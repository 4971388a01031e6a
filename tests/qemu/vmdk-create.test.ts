/**
 * The model's vmdk writer against `qemu-img create -f vmdk`: every file qemu-img makes (the image,
 * and the extent files of the split and flat subformats), byte for byte and block for block. One
 * field is masked: the descriptor's CID, which qemu-img draws with g_random_int and prints in hex
 * without padding (so its length varies too); ours is put in its place before the comparison.
 */
import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { ImageSpec } from "../../src/engines/engine.js";
import { PristineImages, qemuImgCreateArgs, writtenInProcess } from "../../src/engines/qemu/images.js";
import { imageLayout, writeImage } from "../../src/engines/model/images/write-image.js";
import { describeWithQemu } from "../support/qemu.js";

const img = process.env.QEMU_IMG_PROG ?? "qemu-img";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "blockcheck-vmdk-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const CID_LINE = /\nCID=([0-9a-f]+)\n/;

/** Where the descriptor is: 0x200 (20 sectors) in a sparse image, the whole of a descriptor file. */
function descriptorRegion(bytes: Buffer): [number, number] {
  return bytes.length >= 4 && bytes.readUInt32BE(0) === 0x4b444d56 ? [0x200, 0x200 + 20 * 512] : [0, bytes.length];
}

/** The CID in the file's descriptor, or undefined when it has none (an extent file). */
function cidOf(bytes: Buffer): string | undefined {
  const [start, end] = descriptorRegion(bytes);
  return CID_LINE.exec(bytes.toString("latin1", start, Math.min(end, bytes.length)))?.[1];
}

/** `theirs` with its descriptor's CID replaced by `cid`, the descriptor's zero padding kept to its size. */
function withCid(theirs: Buffer, cid: string): Buffer {
  const [start, end0] = descriptorRegion(theirs);
  const end = Math.min(end0, theirs.length);
  const text = theirs.toString("latin1", start, end).replace(CID_LINE, `\nCID=${cid}\n`);
  let region = Buffer.from(text, "latin1");
  // A descriptor file is exactly its text; an embedded one is padded with zeros to its sectors.
  if (start > 0) region = Buffer.concat([region, Buffer.alloc(Math.max(0, end - start - region.length))]).subarray(0, end - start);
  return Buffer.concat([theirs.subarray(0, start), region, theirs.subarray(end)]);
}

/** The first MiB of a file. */
function head(file: string): Buffer {
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(1 << 20);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * Make `spec` both ways in two directories (after `setup`, written by the model's writer in both);
 * expect the same files, lengths, allocation and bytes.
 */
function expectSameFiles(spec: ImageSpec, setup: readonly ImageSpec[] = []): void {
  const key = `${spec.size}-${(spec.createOptions ?? []).map(([k, v]) => `${k}=${v}`).join(",")}-${spec.backingFile ?? ""}`.replaceAll("/", "_");
  const oursDir = path.join(dir, "model", key);
  const theirsDir = path.join(dir, "qemu-img", key);
  for (const d of [oursDir, theirsDir]) {
    mkdirSync(path.join(d, "sub"), { recursive: true });
    for (const s of setup) writeImage(path.join(d, s.path), s);
  }
  writeImage(path.join(oursDir, spec.path), spec);
  execFileSync(img, qemuImgCreateArgs(spec), { cwd: theirsDir });
  const list = (d: string) => readdirSync(d, { recursive: true, encoding: "utf8" }).filter((n) => statSync(path.join(d, n)).isFile()).sort();
  const names = list(theirsDir);
  expect({ key, files: list(oursDir) }).toEqual({ key, files: names });
  for (const name of names) {
    const [a, b] = [path.join(oursDir, name), path.join(theirsDir, name)];
    const [la, lb] = [statSync(a).size, statSync(b).size];
    // A flat extent of gigabytes is a hole past its first block: lengths and block counts say so.
    if (la > READ_LIMIT || lb > READ_LIMIT) {
      expect({ key, name, length: la, blocks: statSync(a).blocks }).toEqual({ key, name, length: lb, blocks: statSync(b).blocks });
      expect(head(a).equals(head(b))).toBe(true);
      continue;
    }
    const ours = readFileSync(a);
    const theirs = readFileSync(b);
    const cid = cidOf(ours);
    expect({ key, name, hasCid: cid !== undefined }).toEqual({ key, name, hasCid: cidOf(theirs) !== undefined });
    const comparable = cid === undefined ? theirs : withCid(theirs, cid);
    expect({ key, name, blocks: statSync(a).blocks }).toEqual({ key, name, blocks: statSync(b).blocks });
    expect({ key, name, length: ours.length }).toEqual({ key, name, length: comparable.length });
    if (!ours.equals(comparable)) {
      let i = 0;
      while (ours[i] === comparable[i]) i++;
      expect.fail(`${key}/${name}: first difference from qemu-img's at byte ${i} (0x${i.toString(16)})`);
    }
  }
}

const GiB = 2 ** 30;
const SIZES = [0, 512, 1000, 65536, 1 << 20, (64 << 20) + 512, GiB, 3 * GiB, 4 * GiB + 4096];
/** Past this, a file is compared in its first MiB (flat extents: the block file-posix allocates, then a hole). */
const READ_LIMIT = 64 << 20;
const SUBFORMATS = ["monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat", "streamOptimized"];
const OPTIONS: ImageSpec["createOptions"][] = [
  [["adapter_type", "lsilogic"]],
  [["adapter_type", "legacyESX"], ["hwversion", "7"], ["toolsversion", "10240"]],
  [["compat6", "on"]],
  [["hwversion", "undefined"], ["compat6", "yes"]],
  [["zeroed_grain", "on"]],
  [["subformat", "streamOptimized"], ["zeroed_grain", "on"], ["adapter_type", "buslogic"]],
  [["subformat", "twoGbMaxExtentSparse"], ["zeroed_grain", "y"]],
];

it("refuses what qemu-img refuses, with its messages", () => {
  const layout = (spec: Partial<ImageSpec>) => () => imageLayout({ path: "x.vmdk", format: "vmdk", size: 1 << 20, ...spec });
  expect(layout({ createOptions: [["subformat", "foo"]] })).toThrow("invalid parameter value: foo");
  expect(layout({ createOptions: [["adapter_type", "scsi"]] })).toThrow("invalid parameter value: scsi");
  expect(layout({ createOptions: [["compat6", "on"], ["hwversion", "7"]] })).toThrow("compat6 cannot be enabled with hwversion set");
  expect(layout({ createOptions: [["subformat", "monolithicFlat"], ["zeroed_grain", "on"]] })).toThrow("Flat image can't enable zeroed grain");
  expect(layout({ createOptions: [["zeroed_grain", "foo"]] })).toThrow("Parameter 'zeroed_grain' expects 'on' or 'off'");
  expect(layout({ createOptions: [["subformat", "twoGbMaxExtentFlat"]], backingFile: "b.vmdk", backingFormat: "vmdk" })).toThrow("Flat image can't have backing file");
  expect(layout({ backingFile: "b.img", backingFormat: "raw" })).toThrow("backing_file must be a vmdk image");
  expect(layout({ dataFile: "d.img" })).toThrow("Invalid parameter 'data_file'");
});

it("writes vmdk images in-process on the qemu engine too, so both engines show one CID", () => {
  const pristine = new PristineImages();
  pristine.add({ path: "base.vmdk", format: "vmdk", size: 1 << 20 });
  expect(writtenInProcess({ path: "a.vmdk", format: "vmdk", size: 1 << 20, createOptions: [["subformat", "twoGbMaxExtentFlat"]] })).toBe(true);
  expect(writtenInProcess({ path: "t.vmdk", format: "vmdk", size: 1 << 20, backingFile: "base.vmdk", backingFormat: "vmdk" }, pristine)).toBe(true);
  expect(writtenInProcess({ path: "t.vmdk", format: "vmdk", size: 1 << 20, backingFile: "base.vmdk", backingFormat: "vmdk" })).toBe(false);
  // Other formats still go to qemu-img with -o options.
  expect(writtenInProcess({ path: "a.qcow2", format: "qcow2", size: 1 << 20, createOptions: [["cluster_size", "4096"]] })).toBe(false);
});

it("reads the backing file's CID from the files around the image", () => {
  const base = imageLayout({ path: "base.vmdk", format: "vmdk", size: 1 << 20 });
  const bytes = Buffer.alloc(base.length);
  for (const c of base.chunks) c.bytes.copy(bytes, c.offset);
  const around = (files: Record<string, Buffer>) => ({
    absPath: "/img/top.vmdk",
    read: (p: string, offset: number, length: number) => {
      const f = files[p];
      return f && Buffer.concat([f.subarray(offset, offset + length), Buffer.alloc(length)]).subarray(0, length);
    },
  });
  const spec: ImageSpec = { path: "top.vmdk", format: "vmdk", size: 1 << 20, backingFile: "base.vmdk", backingFormat: "vmdk" };
  const top = imageLayout(spec, around({ "/img/base.vmdk": bytes }));
  const desc = top.chunks.find((c) => c.offset === 0x200)!.bytes.toString("latin1");
  const baseCid = /\nCID=([0-9a-f]+)\n/.exec(bytes.toString("latin1", 0x200, 0x600))![1];
  expect(desc).toContain(`parentCID=${baseCid}\ncreateType="monolithicSparse"\nparentFileNameHint="base.vmdk"\n# Extent description\n`);
  // qemu-img opens the backing file before vmdk's create looks at it, by the name it was given.
  expect(() => imageLayout(spec, around({}))).toThrow("Could not open 'base.vmdk': No such file or directory\nCould not open backing image.");
  expect(() => imageLayout(spec, around({ "/img/base.vmdk": Buffer.alloc(4096) }))).toThrow("Invalid backing file format: raw. Must be vmdk");
  expect(() => imageLayout(spec, around({ "/img/base.vmdk": Buffer.from("# Disk DescriptorFile\nversion=1\n") }))).toThrow("Failed to read parent CID");
});

it("names the split extents as qemu-img does, beside the descriptor", () => {
  const layout = imageLayout({ path: "dir/disk.x.vmdk", format: "vmdk", size: 5 * GiB, createOptions: [["subformat", "twoGbMaxExtentFlat"]] });
  expect(layout.siblings?.map((s) => [s.name, s.layout.length])).toEqual([
    ["disk.x-f001.vmdk", 2 * GiB],
    ["disk.x-f002.vmdk", 2 * GiB],
    ["disk.x-f003.vmdk", GiB],
  ]);
  const desc = Buffer.concat(layout.chunks.map((c) => c.bytes)).toString("latin1");
  expect(desc).toContain('RW 4194304 FLAT "disk.x-f001.vmdk" 0\nRW 4194304 FLAT "disk.x-f002.vmdk" 0\nRW 2097152 FLAT "disk.x-f003.vmdk" 0\n');
});

describeWithQemu("vmdk images against qemu-img create", () => {
  it("writes every subformat and size as qemu-img does", () => {
    for (const size of SIZES) {
      for (const subformat of SUBFORMATS) {
        expectSameFiles({ path: "disk.vmdk", format: "vmdk", size, createOptions: [["subformat", subformat]] });
      }
    }
  });

  it("writes every option set as qemu-img does", () => {
    for (const size of [1 << 20, 3 * GiB]) {
      for (const createOptions of OPTIONS) expectSameFiles({ path: "opt.vmdk", format: "vmdk", size, createOptions });
      expectSameFiles({ path: "plain.vmdk", format: "vmdk", size });
    }
  });

  it("copies a backing file's CID and names it as given, beside the image or below it", () => {
    const bases: ImageSpec[] = [
      { path: "base.vmdk", format: "vmdk", size: 1 << 20 },
      { path: "sub/flat.vmdk", format: "vmdk", size: 1 << 20, createOptions: [["subformat", "monolithicFlat"]] },
    ];
    const top = (p: string, backingFile: string, createOptions?: ImageSpec["createOptions"]): ImageSpec => ({
      path: p,
      format: "vmdk",
      size: 1 << 20,
      backingFile,
      backingFormat: "vmdk",
      ...(createOptions ? { createOptions } : {}),
    });
    expectSameFiles(top("top.vmdk", "base.vmdk"), bases);
    expectSameFiles(top("sub/top.vmdk", "../base.vmdk", [["subformat", "streamOptimized"]]), bases);
    expectSameFiles(top("top.vmdk", "sub/flat.vmdk", [["subformat", "twoGbMaxExtentSparse"]]), bases);
  });

  it("masks only the CID: qemu-img's is drawn at random", () => {
    const spec: ImageSpec = { path: "r.vmdk", format: "vmdk", size: 1 << 20 };
    const cids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const d = path.join(dir, `r${i}`);
      mkdirSync(d);
      execFileSync(img, qemuImgCreateArgs(spec), { cwd: d });
      cids.add(cidOf(readFileSync(path.join(d, "r.vmdk")))!);
    }
    expect(cids.size).toBeGreaterThan(1);
  });
});
