/** Comparing the image files two runs left: where they first differ, and what each one holds there. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { writeImage } from "../../src/engines/model/images/write-image.js";
import { qcow2Content } from "./qcow2-content.js";
import { featuresFor, firstImageDifference, imagePaths, maskPath } from "./image-files.js";
import { image, io, qmp } from "./steps.js";

describe("image files", () => {
  it("are those the image steps create, data files included, once each", () => {
    const steps = [image("a.qcow2", "qcow2", 1 << 20), { kind: "image" as const, spec: { path: "d.qcow2", format: "qcow2" as const, size: 1 << 20, dataFile: "d.img" } }, image("a.qcow2", "qcow2", 1 << 20), qmp("query-block")];
    expect(imagePaths(steps)).toEqual(["a.qcow2", "d.qcow2", "d.img"]);
  });

  it("need qemu-io on the engine only when a sequence has io steps", () => {
    expect([...featuresFor([qmp("query-block")])]).toEqual([]);
    expect([...featuresFor([qmp("query-block"), io("n", "read 0 1")])]).toEqual(["io"]);
  });

  it("mask the scratch directory's path wherever a file holds it, keeping offsets", () => {
    const masked = maskPath(Buffer.from("xx/tmp/run-a1/base.qcow2\0/tmp/run-a1/b"), "/tmp/run-a1");
    expect(masked.toString()).toBe("xx###########/base.qcow2\0###########/b");
  });

  it("agree when every byte does, and otherwise name the file and the first differing byte", () => {
    const a = Buffer.alloc(10000, 1);
    const b = Buffer.from(a);
    b[5000] = 2;
    expect(firstImageDifference([{ path: "x", bytes: a }], [{ path: "x", bytes: Buffer.from(a) }], 3)).toBeUndefined();
    const d = firstImageDifference([{ path: "x", bytes: a }], [{ path: "x", bytes: b }], 3)!;
    expect(d.step).toBe(3);
    expect(d.expected[1]).toMatch(/^  first difference at byte 5000 \(0x1388\): 01 01/);
    expect(d.actual[1]).toMatch(/^  first difference at byte 5000 \(0x1388\): 02 01/);
    expect(firstImageDifference([{ path: "x", bytes: a }], [{ path: "x", bytes: a.subarray(0, 9000) }], 0)!.expected[1]).toMatch(/at byte 9000/);
    expect(firstImageDifference([{ path: "x", bytes: a }], [{ path: "x", bytes: null }], 0)!.actual).toEqual(["image file x: missing"]);
  });
});

describe("qcow2 files compared by content (after a mirror-based job)", () => {
  const COPIED = 1n << 63n;
  /** A 1 MiB qcow2 whose guest clusters 0 and 1 hold `first` and `second`, placed in `order`. */
  function qcow2With(first: number, second: number, order: "in order" | "swapped"): Buffer {
    const dir = mkdtempSync(path.join(tmpdir(), "qcow2-content-"));
    try {
      const file = path.join(dir, "x.qcow2");
      writeImage(file, { path: "x.qcow2", format: "qcow2", size: 1 << 20 });
      const base = readFileSync(file);
      const cluster = 1 << base.readUInt32BE(20);
      // qemu-img leaves the L1 table unpadded at the end of the file.
      const l2At = Math.ceil(base.length / cluster) * cluster;
      const [at0, at1] = order === "in order" ? [l2At + cluster, l2At + 2 * cluster] : [l2At + 2 * cluster, l2At + cluster];
      const out = Buffer.concat([base, Buffer.alloc(l2At - base.length + 3 * cluster)]);
      out.writeBigUInt64BE(BigInt(l2At) | COPIED, Number(base.readBigUInt64BE(40)));
      out.writeBigUInt64BE(BigInt(at0) | COPIED, l2At);
      out.writeBigUInt64BE(BigInt(at1) | COPIED, l2At + 8);
      out.fill(first, at0, at0 + cluster);
      out.fill(second, at1, at1 + cluster);
      return out;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("agree when the same data sits in other clusters, and name the guest cluster that differs", () => {
    const a = qcow2With(0xa5, 0x5a, "in order");
    const b = qcow2With(0xa5, 0x5a, "swapped");
    expect(firstImageDifference([{ path: "x", bytes: a }], [{ path: "x", bytes: b }], 1)).toBeDefined();
    expect(firstImageDifference([{ path: "x", bytes: a }], [{ path: "x", bytes: b }], 1, "content")).toBeUndefined();
    expect(qcow2Content(a)).toContain("file length " + a.length);
    const c = qcow2With(0xa5, 0x11, "swapped");
    const d = firstImageDifference([{ path: "x", bytes: a }], [{ path: "x", bytes: c }], 1, "content")!;
    expect(d.expected[0]).toMatch(/^image file x \(by content\): cluster 1: data /);
    expect(d.actual[0]).not.toBe(d.expected[0]);
  });

  it("fall back to bytes for files that are not qcow2", () => {
    const raw = Buffer.alloc(4096, 1);
    const other = Buffer.alloc(4096, 2);
    expect(firstImageDifference([{ path: "r", bytes: raw }], [{ path: "r", bytes: other }], 1, "content")?.expected[1]).toMatch(/first difference at byte 0/);
  });
});
