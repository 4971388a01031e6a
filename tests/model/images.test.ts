import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ImageSpec } from "../../src/engines/engine.js";
import { ImageFormatError, ImageReadError, ImageSpecError } from "../../src/engines/model/images/image-errors.js";
import { readImage, readImageInfo } from "../../src/engines/model/images/read-image.js";
import { writeImage } from "../../src/engines/model/images/write-image.js";
import { describeWithQemu } from "../support/qemu.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "blockcheck-images-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const at = (name: string) => path.join(dir, name);
const make = (name: string, spec: Omit<ImageSpec, "path">) => writeImage(at(name), { path: name, ...spec });

describe("writeImage and readImageInfo", () => {
  it("round-trips a qcow2 image with a backing file and format", () => {
    make("base.qcow2", { format: "qcow2", size: 1 << 20 });
    make("top.qcow2", { format: "qcow2", size: 1 << 20, backingFile: "base.qcow2", backingFormat: "qcow2" });
    expect(readImageInfo(at("top.qcow2"))).toEqual({
      format: "qcow2",
      virtualSize: 1 << 20,
      size: 0x30008,
      backingFile: "base.qcow2",
      backingFormat: "qcow2",
      clusterSize: 65536,
    });
  });

  it("keeps a relative backing path as written and allows a backing file without a format", () => {
    make("base.img", { format: "raw", size: 1 << 20 });
    mkdirSync(at("sub"));
    make("sub/t.qcow2", { format: "qcow2", size: 3 << 20, backingFile: "../base.img" });
    expect(readImageInfo(at("sub/t.qcow2"))).toMatchObject({ backingFile: "../base.img", virtualSize: 3 << 20 });
    expect(readImageInfo(at("sub/t.qcow2")).backingFormat).toBeUndefined();
  });

  it("refuses a backing file that does not exist, or is not the qcow2 image it is said to be", () => {
    expect(() => make("t.qcow2", { format: "qcow2", size: 1 << 20, backingFile: "nosuch.qcow2", backingFormat: "qcow2" })).toThrow(
      "Could not open 'nosuch.qcow2': No such file or directory\nCould not open backing image.",
    );
    make("r.raw", { format: "raw", size: 1 << 20 });
    expect(() => make("t.qcow2", { format: "qcow2", size: 1 << 20, backingFile: "r.raw", backingFormat: "qcow2" })).toThrow("Image is not in qcow2 format\nCould not open backing image.");
  });

  it("makes raw images sparse and rounds sizes up to 512 bytes, as qemu-img does", () => {
    make("r.img", { format: "raw", size: 1000 });
    expect(readImageInfo(at("r.img"))).toEqual({ format: "raw", virtualSize: 1024, size: 1024 });
    make("q.qcow2", { format: "qcow2", size: 1000 });
    expect(readImageInfo(at("q.qcow2")).virtualSize).toBe(1024);
  });

  it("replaces an existing file", () => {
    make("x", { format: "qcow2", size: 1 << 20 });
    make("x", { format: "raw", size: 4096 });
    expect(readImageInfo(at("x"))).toEqual({ format: "raw", virtualSize: 4096, size: 4096 });
  });

  it("refuses a raw image with a backing file with qemu-img's message", () => {
    expect(() => make("r.img", { format: "raw", size: 512, backingFile: "b" })).toThrow(
      new ImageSpecError("Backing file not supported for file format 'raw'"),
    );
  });

  it("leaves an empty file where qemu-img is refused only after the protocol created it, and none where it is refused before", () => {
    make("old", { format: "raw", size: 65536 });
    const opts = (...kv: string[]) => kv.map((o) => o.split("=") as [string, string]);
    expect(() => make("old", { format: "vdi", size: 3 << 20, createOptions: opts("preallocation=metadata") })).toThrow("Unsupported preallocation mode: metadata");
    expect(statSync(at("old")).size).toBe(0);
    expect(() => make("a.vpc", { format: "vpc", size: 1 << 20, createOptions: opts("subformat=bogus") })).toThrow("Parameter 'subformat' does not accept value 'bogus'");
    expect(() => make("d.qed", { format: "qed", size: 1 << 20, createOptions: opts("table_size=1k") })).toThrow("Parameter 'table-size' expects integer");
    for (const name of ["a.vpc", "d.qed"]) expect(statSync(at(name)).size, name).toBe(0);
    expect(() => make("g.vdi", { format: "vdi", size: 1 << 20, createOptions: opts("preallocation=bogus") })).toThrow("invalid parameter value: bogus");
    expect(() => make("h.qed", { format: "qed", size: 1 << 20, createOptions: opts("table_size=x") })).toThrow("Parameter 'table_size' expects a non-negative number");
    for (const name of ["g.vdi", "h.qed"]) expect(() => statSync(at(name)), name).toThrow();
    make("j.qed", { format: "qed", size: 1 << 20, createOptions: opts("cluster_size=0x10000", "table_size=0x2") });
    expect(statSync(at("j.qed")).size).toBeGreaterThan(0);
  });

  it("reads version 2 headers", () => {
    const h = Buffer.alloc(512);
    h.writeUInt32BE(0x514649fb, 0);
    h.writeUInt32BE(2, 4);
    h.writeBigUInt64BE(72n, 8); // backing name right after the 72-byte header, no extensions
    h.writeUInt32BE(4, 16);
    h.writeUInt32BE(12, 20);
    h.writeBigUInt64BE(8192n, 24);
    // The tables qcow2_do_open insists on (it checks their place and size, not their contents).
    h.writeUInt32BE(1, 36);
    h.writeBigUInt64BE(8192n, 40);
    h.writeBigUInt64BE(4096n, 48);
    h.writeUInt32BE(1, 56);
    h.write("b.im", 72, "latin1");
    writeFileSync(at("v2.qcow2"), h);
    expect(readImageInfo(at("v2.qcow2"))).toEqual({ format: "qcow2", virtualSize: 8192, size: 512, backingFile: "b.im", clusterSize: 4096 });
  });

  it("reports unreadable files with their errno", () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e;
      }
      throw new Error("no error");
    };
    mkdirSync(at("d"));
    for (const read of [readImageInfo, readImage]) {
      const missing = err(() => read(at("nosuch")));
      expect(missing).toBeInstanceOf(ImageReadError);
      expect(missing).toMatchObject({ code: "E_IMAGE_READ", errno: "ENOENT" });
      expect(err(() => read(at("d")))).toMatchObject({ code: "E_IMAGE_READ", errno: "EISDIR" });
    }
  });

  it("rejects bad or short qcow2 headers with QEMU's messages; short files read as zero-padded", () => {
    const magic = Buffer.from([0x51, 0x46, 0x49, 0xfb]);
    writeFileSync(at("short"), magic);
    expect(() => readImageInfo(at("short"))).toThrow(new ImageFormatError(at("short"), "Unsupported qcow2 version 0"));
    const h = Buffer.alloc(112);
    magic.copy(h);
    h.writeUInt32BE(3, 4);
    h.writeUInt32BE(8, 20);
    writeFileSync(at("bits"), h);
    expect(() => readImageInfo(at("bits"))).toThrow("Unsupported cluster size: 2^8");
    h.writeUInt32BE(16, 20);
    h.writeUInt32BE(100, 100);
    writeFileSync(at("hlen"), h);
    expect(() => readImageInfo(at("hlen"))).toThrow("qcow2 header too short");
    writeFileSync(at("tiny"), Buffer.from("QF"));
    expect(readImageInfo(at("tiny"))).toEqual({ format: "raw", virtualSize: 2, size: 2 });
  });
});

describe("readImage", () => {
  it("tells the qcow2 driver why qcow2_do_open refuses a header, and takes a file shorter than a header for raw", () => {
    const h = Buffer.alloc(512);
    h.writeUInt32BE(0x514649fb, 0);
    h.writeUInt32BE(4, 4);
    h.writeUInt32BE(8, 20);
    h.writeBigUInt64BE(4096n, 24);
    writeFileSync(at("v4"), h);
    expect(() => readImageInfo(at("v4"))).toThrow("Unsupported qcow2 version 4");
    expect(readImage(at("v4"))).toMatchObject({ fileSize: 512, qcow2: null, qcow2Problem: "Unsupported qcow2 version 4" });
    h.writeUInt32BE(3, 4);
    writeFileSync(at("bits"), h);
    expect(readImage(at("bits"))).toMatchObject({ qcow2: null, qcow2Problem: "Unsupported cluster size: 2^8" });
    writeFileSync(at("short"), h.subarray(0, 71));
    expect(readImage(at("short"))).toMatchObject({ fileSize: 71, qcow2: null });
  });

  it("reads where guest cluster 0 is mapped from its L1 and L2 entries", () => {
    make("m.qcow2", { format: "qcow2", size: 1 << 20 });
    const first = () => readImage(at("m.qcow2")).qcow2?.firstCluster;
    const poke = (offset: number, entry: bigint) => {
      const fd = openSync(at("m.qcow2"), "r+");
      const buf = Buffer.alloc(8);
      buf.writeBigUInt64BE(entry);
      writeSync(fd, buf, 0, 8, offset);
      closeSync(fd);
    };
    expect(first()).toBe("unallocated");
    // writeImage puts the L1 table in cluster 3; point its first entry (with the COPIED flag) at an L2 table in cluster 4.
    const copied = 1n << 63n;
    poke(3 << 16, BigInt(4 << 16) | copied);
    expect(first()).toBe("unallocated");
    poke(4 << 16, 1n);
    expect(first()).toBe("zero");
    poke(4 << 16, BigInt(5 << 16) | copied);
    expect(first()).toBe("data");
  });
});

const qemuImg = process.env.QEMU_IMG_PROG ?? "qemu-img";
const imgIn = (cwd: string, ...args: string[]) => execFileSync(qemuImg, args, { cwd, encoding: "utf8", timeout: 20_000 });
const img = (...args: string[]) => imgIn(dir, ...args);

/** qemu-img info on `side/name`, run inside `side`, without the field that depends on allocation. */
function info(side: string, name: string): Record<string, unknown> {
  const { "actual-size": _a, ...rest } = JSON.parse(imgIn(path.join(dir, side), "info", "--output=json", name)) as Record<string, unknown>;
  return rest;
}

/** In creation order: qemu-img opens a backing file, so it must exist first. */
const specs: [string, Omit<ImageSpec, "path">][] = [
  ["base.raw", { format: "raw", size: 1 << 20 }],
  ["odd.raw", { format: "raw", size: 1000 }],
  ["empty.qcow2", { format: "qcow2", size: 0 }],
  ["odd.qcow2", { format: "qcow2", size: 1000 }],
  ["base.qcow2", { format: "qcow2", size: 1 << 20 }],
  ["top.qcow2", { format: "qcow2", size: 1 << 20, backingFile: "base.qcow2", backingFormat: "qcow2" }],
  ["sub/rel.qcow2", { format: "qcow2", size: 3 << 20, backingFile: "../base.qcow2", backingFormat: "qcow2" }],
  ["over-raw.qcow2", { format: "qcow2", size: 2 << 20, backingFile: "base.raw", backingFormat: "raw" }],
  ["big.qcow2", { format: "qcow2", size: 100 * 2 ** 30 }],
  ["huge.qcow2", { format: "qcow2", size: 5 * 2 ** 40 }],
  // The data file's name is stored as given and resolved against the working directory.
  ["data.qcow2", { format: "qcow2", size: 1 << 20, dataFile: "data.img" }],
];

describeWithQemu("images against qemu-img", () => {
  /** Make every spec twice: `qemu/NAME` with qemu-img, `model/NAME` with writeImage. */
  function makeBoth(): void {
    for (const side of ["qemu", "model"]) mkdirSync(path.join(dir, side, "sub"), { recursive: true });
    for (const [name, spec] of specs) {
      const args = ["create", "-q", "-f", spec.format];
      if (spec.backingFile) args.push("-b", spec.backingFile, "-F", spec.backingFormat!);
      if (spec.dataFile) args.push("-o", `data_file=${spec.dataFile}`);
      imgIn(path.join(dir, "qemu"), ...args, name, String(spec.size));
      if (spec.dataFile) writeImage(at(`model/${spec.dataFile}`), { path: spec.dataFile, format: "raw", size: spec.size });
      writeImage(at(`model/${name}`), { path: name, ...spec });
    }
  }

  it("writes the same bytes as qemu-img create", () => {
    makeBoth();
    for (const [image, spec] of specs) {
      for (const name of spec.dataFile ? [image, spec.dataFile] : [image]) {
        expect(statSync(at(`model/${name}`)).size, name).toBe(statSync(at(`qemu/${name}`)).size);
        expect(readFileSync(at(`model/${name}`)).equals(readFileSync(at(`qemu/${name}`))), name).toBe(true);
        // Allocation is what query-named-block-nodes reports as actual-size.
        expect(statSync(at(`model/${name}`)).blocks, `${name} allocation`).toBe(statSync(at(`qemu/${name}`)).blocks);
      }
    }
  });

  it("passes qemu-img check and gives the same qemu-img info", () => {
    makeBoth();
    for (const [name, spec] of specs) {
      if (spec.format === "qcow2") imgIn(path.join(dir, "model"), "check", "-q", name);
      expect(info("model", name), name).toEqual(info("qemu", name));
    }
  });

  it("reads qemu-img's images", () => {
    makeBoth();
    for (const [name, spec] of specs) {
      const i = readImageInfo(at(`qemu/${name}`));
      const q = info("qemu", name);
      expect(i.format, name).toBe(spec.format);
      expect(i.virtualSize, name).toBe(q["virtual-size"]);
      expect(i.size, name).toBe(statSync(at(`qemu/${name}`)).size);
      expect(i.clusterSize, name).toBe(q["cluster-size"]);
      expect(i.backingFile, name).toBe(q["backing-filename"]);
      expect(i.backingFormat, name).toBe(q["backing-filename-format"]);
      const header = readImage(at(`qemu/${name}`)).qcow2;
      const specific = (q["format-specific"] as { data?: Record<string, unknown> } | undefined)?.data;
      if (header) expect({ external: header.externalDataFile, name: header.dataFile }, name).toEqual({ external: spec.dataFile !== undefined, name: specific?.["data-file"] ?? "" });
    }
  });

  it("reads a qcow2 version 2 image made by qemu-img", () => {
    img("create", "-q", "-f", "raw", "b.raw", "1M");
    img("create", "-q", "-f", "qcow2", "-o", "compat=0.10,cluster_size=4096", "-b", "b.raw", "-F", "raw", "v2.qcow2", "1M");
    expect(readImageInfo(at("v2.qcow2"))).toMatchObject({ format: "qcow2", virtualSize: 1 << 20, clusterSize: 4096, backingFile: "b.raw", backingFormat: "raw" });
  });
});
