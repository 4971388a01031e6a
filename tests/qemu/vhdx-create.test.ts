/**
 * The model's vhdx writer against `qemu-img create -f vhdx`: byte for byte and block for block,
 * with what qemu-img draws at random masked — each header's checksum, sequence number, file and
 * data write GUIDs, and the page 83 GUID in the metadata.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { ImageSpec } from "../../src/engines/engine.js";
import { imageLayout } from "../../src/engines/model/images/write-image.js";
import { randomFields } from "../../src/engines/model/images/vdi-vpc-vhdx-random-fields.js";
import { checksumIsValid, VHDX_HEADER1_OFFSET, VHDX_HEADER_SIZE } from "../../src/engines/model/images/vhdx-format.js";
import { describeWithQemu } from "../support/qemu.js";
import { expectSameAsQemuImg } from "./image-bytes-compare.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "blockcheck-vhdx-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const SIZES = [0, 512, 1 << 20, 3 << 20, 9 << 20, 2 ** 30 + 512, 200 * 2 ** 30];
const OPTIONS: ImageSpec["createOptions"][] = [
  undefined,
  [["subformat", "fixed"]],
  [["block_state_zero", "off"]],
  [["subformat", "fixed"], ["block_state_zero", "off"]],
  [["block_size", "1M"], ["log_size", "3M"]],
  [["block_size", "1000k"], ["log_size", "1"]],
  [["block_size", "0"]],
  [["block_size", "512M"]],
];

it("refuses what qemu-img refuses, with its messages", () => {
  const layout = (spec: Partial<ImageSpec>) => () => imageLayout({ path: "x.vhdx", format: "vhdx", size: 1 << 20, ...spec });
  expect(layout({ createOptions: [["subformat", "foo"]] })).toThrow("Parameter 'subformat' does not accept value 'foo'");
  expect(layout({ createOptions: [["block_state_zero", "maybe"]] })).toThrow("Parameter 'block_state_zero' expects 'on' or 'off'");
  expect(layout({ createOptions: [["block_size", "3M"]] })).toThrow("Block size must be a power of two");
  expect(layout({ createOptions: [["log_size", "0"]] })).toThrow("Log size must be a multiple of 1 MB");
  expect(layout({ createOptions: [["log_size", "5G"]] })).toThrow("Log size must be smaller than 4 GB");
  expect(layout({ size: 65 * 2 ** 40 })).toThrow("Image size too large; max of 64TB");
  expect(layout({ backingFile: "b.vhdx" })).toThrow("Backing file not supported for file format 'vhdx'");
});

it("checksums the headers it writes", () => {
  const { chunks } = imageLayout({ path: "x.vhdx", format: "vhdx", size: 1 << 20 });
  const header = chunks.find((c) => c.offset === VHDX_HEADER1_OFFSET)!.bytes;
  expect(header.length).toBe(VHDX_HEADER_SIZE);
  expect(checksumIsValid(header, 4)).toBe(true);
});

describeWithQemu("vhdx images against qemu-img create", () => {
  it("writes every size and option set as qemu-img does", () => {
    let n = 0;
    for (const size of SIZES) {
      for (const createOptions of OPTIONS) {
        // A fixed image is a file of the image's size to read back: only small ones.
        if (size > 16 << 20 && createOptions?.some(([k, v]) => k === "subformat" && v === "fixed")) continue;
        // An empty image's BAT wraps around to 2^32 / chunk ratio entries: 2 GiB with 256 MiB blocks.
        if (size === 0 && createOptions?.some(([k, v]) => k === "block_size" && v === "512M")) continue;
        const spec: ImageSpec = { path: `h-${n++}.vhdx`, format: "vhdx", size, ...(createOptions ? { createOptions } : {}) };
        const { theirs } = expectSameAsQemuImg(dir, spec, randomFields, { extentTreeSlack: true });
        expect(randomFields(theirs).some((f) => f.name === "page_83_data")).toBe(true);
      }
    }
  });
});
