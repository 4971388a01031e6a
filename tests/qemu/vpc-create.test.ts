/**
 * The model's vpc writer against `qemu-img create -f vpc`: byte for byte and block for block, with
 * the footer's timestamp, UUID and the checksum over them masked (in each copy of the footer).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { ImageSpec } from "../../src/engines/engine.js";
import { imageLayout } from "../../src/engines/model/images/write-image.js";
import { randomFields } from "../../src/engines/model/images/vdi-vpc-vhdx-random-fields.js";
import { F, vpcChecksum } from "../../src/engines/model/images/vpc-format.js";
import { describeWithQemu } from "../support/qemu.js";
import { expectSameAsQemuImg } from "./image-bytes-compare.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "blockcheck-vpc-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Sizes around the CHS steps (17, 31, 63 sectors per track) and past the 127 GiB ATA limit. */
const SIZES = [0, 1, 512, 1000, 34816, 65536, 1 << 20, 3 << 20, 100 << 20, 1 << 30, 130 * 2 ** 30, 2040 * 2 ** 30 - 512];
const OPTIONS: ImageSpec["createOptions"][] = [
  undefined,
  [["subformat", "fixed"]],
  [["force_size", "on"]],
  [["subformat", "fixed"], ["force_size", "on"]],
  [["subformat", "dynamic"], ["force_size", "off"]],
];

it("refuses what qemu-img refuses, with its messages", () => {
  const layout = (spec: Partial<ImageSpec>) => () => imageLayout({ path: "x.vpc", format: "vpc", size: 1 << 20, ...spec });
  expect(layout({ createOptions: [["subformat", "foo"]] })).toThrow("Parameter 'subformat' does not accept value 'foo'");
  expect(layout({ createOptions: [["force_size", "maybe"]] })).toThrow("Parameter 'force_size' expects 'on' or 'off'");
  expect(layout({ size: 3000 * 2 ** 30 })).toThrow("The image size is too large for file format 'vpc'");
  expect(layout({ size: 3000 * 2 ** 30, createOptions: [["force_size", "on"]] })).toThrow("The image size is too large for file format 'vpc'");
  expect(layout({ backingFile: "b.vpc" })).toThrow("Backing file not supported for file format 'vpc'");
});

it("writes a footer whose checksum holds", () => {
  const { chunks } = imageLayout({ path: "x.vpc", format: "vpc", size: 1 << 20 });
  const footer = Buffer.from(chunks[0]!.bytes);
  const sum = footer.readUInt32BE(F.checksum);
  footer.writeUInt32BE(0, F.checksum);
  expect(vpcChecksum(footer)).toBe(sum);
});

describeWithQemu("vpc images against qemu-img create", () => {
  it("writes every size and option set as qemu-img does", () => {
    let n = 0;
    for (const size of SIZES) {
      for (const createOptions of OPTIONS) {
        // A fixed image is a file of the image's size to read back: only small ones.
        if (size > 16 << 20 && createOptions?.some(([k, v]) => k === "subformat" && v === "fixed")) continue;
        const spec: ImageSpec = { path: `p-${n++}.vpc`, format: "vpc", size, ...(createOptions ? { createOptions } : {}) };
        const { theirs } = expectSameAsQemuImg(dir, spec, randomFields);
        expect(randomFields(theirs).length).toBeGreaterThan(0);
      }
    }
  });
});
