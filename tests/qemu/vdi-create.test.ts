/**
 * The model's vdi writer against `qemu-img create -f vdi`: byte for byte and block for block, with
 * the two UUIDs qemu-img draws at random (uuid_image, uuid_last_snap) masked.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { ImageSpec } from "../../src/engines/engine.js";
import { imageLayout } from "../../src/engines/model/images/write-image.js";
import { VDI_RANDOM_FIELDS } from "../../src/engines/model/images/vdi-create.js";
import { describeWithQemu } from "../support/qemu.js";
import { expectSameAsQemuImg } from "./image-bytes-compare.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "blockcheck-vdi-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const SIZES = [0, 1, 512, 1000, 65536, 1 << 20, (1 << 20) + 512, 3 << 20, 129 << 20, 1 << 30];
const OPTIONS: ImageSpec["createOptions"][] = [
  undefined,
  [["static", "on"]],
  [["static", "off"]],
  [["static", "y"]],
  [["preallocation", "off"]],
  [["preallocation", "full"], ["static", "on"]],
  [["static", "on"], ["static", "off"]],
];

it("refuses what qemu-img refuses, with its messages", () => {
  const layout = (spec: Partial<ImageSpec>) => () => imageLayout({ path: "x.vdi", format: "vdi", size: 1 << 20, ...spec });
  expect(layout({ createOptions: [["static", "maybe"]] })).toThrow("Parameter 'static' expects 'on' or 'off'");
  expect(layout({ createOptions: [["preallocation", "metadata"]] })).toThrow("Unsupported preallocation mode: metadata");
  expect(layout({ createOptions: [["preallocation", "foo"]] })).toThrow("invalid parameter value: foo");
  expect(layout({ backingFile: "b.vdi" })).toThrow("Backing file not supported for file format 'vdi'");
  expect(layout({ size: 2 ** 52 })).toThrow("Unsupported VDI image size (size is 0x10000000000000, max supported is 0x1fffff8000000)");
});

describeWithQemu("vdi images against qemu-img create", () => {
  it("writes every size and option set as qemu-img does", () => {
    for (const size of SIZES) {
      // Large images only plain: a static one is a file of the image's size to read back.
      for (const [i, createOptions] of (size > 16 << 20 ? OPTIONS.slice(0, 1) : OPTIONS).entries()) {
        const spec: ImageSpec = { path: `v-${size}-${i}.vdi`, format: "vdi", size, ...(createOptions ? { createOptions } : {}) };
        const { theirs } = expectSameAsQemuImg(dir, spec, VDI_RANDOM_FIELDS);
        // The masked fields really are random in qemu-img's file (not zeros the mask would hide).
        expect(theirs.subarray(0x188, 0x1a8).equals(Buffer.alloc(32))).toBe(false);
      }
    }
  });
});
