/**
 * The model's parallels writer against `qemu-img create -f parallels`: byte for byte and block for
 * block, for several sizes and cluster sizes (rounded up to whole sectors as qemu-img does).
 * qemu-img writes nothing random into a parallels image, so no field is masked.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { ImageSpec } from "../../src/engines/engine.js";
import { imageLayout } from "../../src/engines/model/images/write-image.js";
import { describeWithQemu } from "../support/qemu.js";
import { expectSameAsQemuImg } from "./image-bytes-compare.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "blockcheck-parallels-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const SIZES = [0, 512, 3000, 65536, 1 << 20, (1 << 20) + 512, 10 << 20, 1 << 30];
const OPTIONS: ImageSpec["createOptions"][] = [undefined, [["cluster_size", "4k"]], [["cluster_size", "1000"]], [["cluster_size", "64k"]], [["cluster_size", "2M"]]];

it("refuses what qemu-img refuses, with its messages", () => {
  const layout = (spec: Partial<ImageSpec>) => () => imageLayout({ path: "x.img", format: "parallels", size: 1 << 20, ...spec });
  expect(layout({ createOptions: [["cluster_size", "2G"]] })).toThrow("Cluster size is too large");
  expect(layout({ createOptions: [["cluster_size", "512"]], size: 3 * 2 ** 40 })).toThrow("Image size is too large for this cluster size");
  expect(layout({ createOptions: [["cluster_size", "x"]] })).toThrow("Parameter 'cluster_size' expects a non-negative number below 2^64");
  expect(layout({ backingFile: "b.img", backingFormat: "raw" })).toThrow("Backing file not supported for file format 'parallels'");
});

it("lays a fresh image out as parallels_co_create does", () => {
  const l = imageLayout({ path: "x.img", format: "parallels", size: 10 << 20, createOptions: [["cluster_size", "4k"]] });
  // The header sector, then zeros to the end of the BAT's last cluster (64 + 4 * 2560 bytes: 3 clusters).
  expect(l.chunks.map((c) => [c.offset, c.bytes.length])).toEqual([[0, 512], [512, 3 * 4096 - 512]]);
  expect(l.length).toBe(3 * 4096);
});

describeWithQemu("parallels images against qemu-img create", () => {
  it("writes every size and cluster size as qemu-img does", () => {
    for (const size of SIZES) {
      for (const [i, createOptions] of OPTIONS.entries()) {
        expectSameAsQemuImg(dir, { path: `p-${size}-${i}.img`, format: "parallels", size, ...(createOptions ? { createOptions } : {}) }, []);
      }
    }
  });
});
