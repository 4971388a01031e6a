/**
 * The model's qcow (version 1) writer against `qemu-img create -f qcow`: byte for byte and block for
 * block, for several sizes, with and without a backing file. qemu-img writes the header's mtime as
 * 0, so no field is masked.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
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
  dir = mkdtempSync(path.join(tmpdir(), "blockcheck-qcow-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const SIZES = [1, 512, 1000, 65536, 1 << 20, (1 << 20) + 512, 3 << 20, 1 << 30, 64 * 2 ** 30];
const BACKINGS: Pick<ImageSpec, "backingFile" | "backingFormat">[] = [
  {},
  { backingFile: "b.raw", backingFormat: "raw" },
  { backingFile: "b.qcow", backingFormat: "qcow" },
  { backingFile: "b-with-a-longer-name.qcow2", backingFormat: "qcow2" },
];

it("refuses what qemu-img refuses, with its messages", () => {
  const layout = (spec: Partial<ImageSpec>) => () => imageLayout({ path: "x.qcow", format: "qcow", size: 1 << 20, ...spec });
  expect(layout({ size: 0 })).toThrow("Image size is too small, cannot be zero length");
  expect(layout({ createOptions: [["cluster_size", "4k"]] })).toThrow("Invalid parameter 'cluster_size'");
  expect(layout({ dataFile: "d.raw" })).toThrow("Invalid parameter 'data_file'");
});

it("lays a fresh image out as qcow_co_create does", () => {
  const l = imageLayout({ path: "x.qcow", format: "qcow", size: 1 << 20, backingFile: "b.raw", backingFormat: "raw" });
  // Header, name after it, the L1 table from the next 8-byte boundary as whole sectors.
  expect(l.chunks.map((c) => [c.offset, c.bytes.length])).toEqual([[0, 48], [48, 5], [56, 512]]);
  expect(l.length).toBe(568);
});

describeWithQemu("qcow images against qemu-img create", () => {
  it("writes every size and backing file as qemu-img does", () => {
    for (const [name, fmt] of [["b.raw", "raw"], ["b.qcow", "qcow"], ["b-with-a-longer-name.qcow2", "qcow2"]] as const) {
      execFileSync(img, ["create", "-q", "-f", fmt, name, "1M"], { cwd: dir });
    }
    for (const size of SIZES) {
      for (const [j, backing] of BACKINGS.entries()) {
        expectSameAsQemuImg(dir, { path: `q-${size}-${j}.qcow`, format: "qcow", size, ...backing }, []);
      }
    }
  });
});
