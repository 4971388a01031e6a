/**
 * The model's qed writer against `qemu-img create -f qed`: byte for byte and block for block, for
 * several sizes, cluster and table sizes, and backing files of each kind of format flag. qemu-img
 * writes nothing random into a qed image, so no field is masked.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { ImageSpec } from "../../src/engines/engine.js";
import { imageLayout } from "../../src/engines/model/images/write-image.js";
import { describeWithQemu } from "../support/qemu.js";
import { expectSameAsQemuImg } from "./image-bytes-compare.js";

const img = process.env.QEMU_IMG_PROG ?? "qemu-img";
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "blockcheck-qed-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const SIZES = [0, 512, 1000, 65536, 1 << 20, (1 << 20) + 512, 3 << 20, 1 << 30];
const OPTIONS: ImageSpec["createOptions"][] = [
  undefined,
  [["cluster_size", "4096"]],
  [["cluster_size", "64k"], ["table_size", "2"]],
  [["cluster_size", "1M"], ["table_size", "16"]],
  [["table_size", "1"]],
  [["table_size", "0x8"]],
];
const BACKINGS: Pick<ImageSpec, "backingFile" | "backingFormat">[] = [
  {},
  { backingFile: "b.raw", backingFormat: "raw" },
  { backingFile: "b.qed", backingFormat: "qed" },
  { backingFile: "sub/../b.qcow2", backingFormat: "qcow2" },
];

it("refuses what qemu-img refuses, with its messages", () => {
  const layout = (spec: Partial<ImageSpec>) => () => imageLayout({ path: "x.qed", format: "qed", size: 1 << 20, ...spec });
  expect(layout({ createOptions: [["cluster_size", "1000"]] })).toThrow("QED cluster size must be within range [4096, 67108864] and power of 2");
  expect(layout({ createOptions: [["cluster_size", "128M"]] })).toThrow("QED cluster size must be within range [4096, 67108864] and power of 2");
  expect(layout({ createOptions: [["cluster_size", "abc"]] })).toThrow("Parameter 'cluster_size' expects a non-negative number below 2^64");
  expect(layout({ createOptions: [["table_size", "3"]] })).toThrow("QED table size must be within range [1, 16] and power of 2");
  expect(layout({ createOptions: [["table_size", "1k"]] })).toThrow("Parameter 'table-size' expects integer");
  expect(layout({ createOptions: [["cluster_size", "4096"], ["table_size", "1"]], size: 2 ** 41 })).toThrow(
    "QED image size must be a non-zero multiple of cluster size and less than 1073741824 bytes",
  );
  expect(layout({ dataFile: "d.raw" })).toThrow("Invalid parameter 'data_file'");
});

it("lays a fresh image out as bdrv_qed_co_create does", () => {
  const l = imageLayout({ path: "x.qed", format: "qed", size: 1 << 20, backingFile: "b.raw", backingFormat: "raw" });
  // Header, name after it, L1 table in cluster 1 (4 clusters); the file ends with the table.
  expect(l.chunks.map((c) => [c.offset, c.bytes.length])).toEqual([[0, 64], [64, 5], [65536, 4 * 65536]]);
  expect(l.length).toBe(5 * 65536);
  // QED_F_BACKING_FILE | QED_F_BACKING_FORMAT_NO_PROBE.
  expect(l.chunks[0]!.bytes.readBigUInt64LE(16)).toBe(5n);
});

describeWithQemu("qed images against qemu-img create", () => {
  it("writes every size, option set and backing file as qemu-img does", () => {
    mkdirSync(path.join(dir, "sub"));
    for (const [name, fmt] of [["b.raw", "raw"], ["b.qed", "qed"], ["b.qcow2", "qcow2"]] as const) {
      execFileSync(img, ["create", "-q", "-f", fmt, name, "1M"], { cwd: dir });
    }
    for (const size of SIZES) {
      for (const [i, createOptions] of OPTIONS.entries()) {
        for (const [j, backing] of BACKINGS.entries()) {
          const spec: ImageSpec = { path: `q-${size}-${i}-${j}.qed`, format: "qed", size, ...backing, ...(createOptions ? { createOptions } : {}) };
          expectSameAsQemuImg(dir, spec, []);
        }
      }
    }
  });
});
