/**
 * bdrv_probe_all over the vdi, vpc and vhdx probes, on the first bytes of images the model's writers
 * make; and vpc's CHS geometry, which decides the size of every image qemu-img creates without
 * force_size.
 */
import { describe, expect, it } from "vitest";
import { probeDriver } from "../../src/engines/model/drivers/index.js";
import { imageLayout } from "../../src/engines/model/images/write-image.js";
import { roundedImageSize } from "../../src/engines/model/images/vpc-create.js";
import { calculateGeometry } from "../../src/engines/model/images/vpc-format.js";
import type { ImageSpec } from "../../src/engines/engine.js";
import { ModelIoUnsupportedError } from "../../src/engines/model/data/io-error.js";
import { Fixture } from "./support/fixture.js";

/** The first 2048 bytes of the image `spec` describes, zero-padded, as find_image_format reads them. */
function probeBuffer(spec: Omit<ImageSpec, "path">): Buffer {
  const layout = imageLayout({ path: "x", ...spec });
  const buf = Buffer.alloc(2048);
  for (const c of layout.chunks) if (c.offset < buf.length) c.bytes.copy(buf, c.offset, 0, Math.min(c.bytes.length, buf.length - c.offset));
  return buf;
}

describe("vdi, vpc and vhdx probes", () => {
  it("finds each format by its own header", () => {
    expect(probeDriver(probeBuffer({ format: "vdi", size: 1 << 20 }), "x")?.name).toBe("vdi");
    expect(probeDriver(probeBuffer({ format: "vpc", size: 1 << 20 }), "x")?.name).toBe("vpc");
    expect(probeDriver(probeBuffer({ format: "vhdx", size: 1 << 20 }), "x")?.name).toBe("vhdx");
  });

  it("cannot find a fixed VHD, whose footer is only at its end", () => {
    expect(probeDriver(probeBuffer({ format: "vpc", size: 1 << 20, createOptions: [["subformat", "fixed"]] }), "x")?.name).toBe("raw");
  });

  it("takes vdi by its signature at 0x40, whatever the text before it", () => {
    const buf = probeBuffer({ format: "vdi", size: 1 << 20 });
    buf.fill(0, 0, 0x40);
    expect(probeDriver(buf, "x")?.name).toBe("vdi");
    buf.writeUInt32LE(0, 0x40);
    expect(probeDriver(buf, "x")?.name).toBe("raw");
  });
});

describe("vpc geometry", () => {
  it("follows the VHD specification's steps (17, 31, 63 sectors per track; 255 past 127 GiB)", () => {
    expect(calculateGeometry(68)).toEqual({ cyls: 1, heads: 4, secs: 17 });
    expect(calculateGeometry(2048)).toEqual({ cyls: 30, heads: 4, secs: 17 });
    expect(calculateGeometry(65535 * 16 * 63)).toEqual({ cyls: 16191, heads: 16, secs: 255 });
  });

  it("rounds a size up to the next geometry, and keeps a size no geometry reaches", () => {
    expect(roundedImageSize(1 << 20, false).totalSectors * 512).toBe(1079296);
    expect(roundedImageSize(3 << 20, false).totalSectors * 512).toBe(3168256);
    expect(roundedImageSize(1000 * 2 ** 30, false).totalSectors).toBe((1000 * 2 ** 30) / 512);
    expect(roundedImageSize(1 << 20, true)).toMatchObject({ cyls: 65535, heads: 16, secs: 255, totalSectors: 2048 });
    expect(() => roundedImageSize(2041 * 2 ** 30, false)).toThrow("The image size is too large for file format 'vpc'");
  });
});

describe("vdi over a node that leaves reads uninitialised", () => {
  it("does not make up the signature QEMU 7.2 prints from its stack", () => {
    const f = new Fixture();
    try {
      // QEMU printed "bad signature ffffffff" here; the model used to say 00000000.
      const add = () => f.model.execute("blockdev-add", { driver: "vdi", "node-name": "v0", file: { driver: "raw", file: { driver: "null-co" } } });
      expect(add).toThrow(ModelIoUnsupportedError);
      expect(add).toThrow(/vdi header read from a node that leaves the buffer uninitialised/);
      // With read-zeroes the header is all zeros, which QEMU and the model refuse alike.
      expect(f.err("blockdev-add", { driver: "vdi", "node-name": "v1", file: { driver: "null-co", "read-zeroes": true } })).toBe("Image not in VDI format (bad signature 00000000)");
    } finally {
      f.dispose();
    }
  });
});
