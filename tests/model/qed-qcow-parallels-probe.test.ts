/**
 * bdrv_probe_all over the qed, qcow (v1) and parallels probes, on the first bytes of images the
 * model's writers make: each format is recognised by its own probe only, qcow and qcow2 (one magic)
 * by their versions.
 */
import { describe, expect, it } from "vitest";
import { probeDriver } from "../../src/engines/model/drivers/index.js";
import { imageLayout } from "../../src/engines/model/images/write-image.js";
import type { ImageSpec } from "../../src/engines/engine.js";

/** The first 2048 bytes of the image `spec` describes, zero-padded, as find_image_format reads them. */
function probeBuffer(spec: Omit<ImageSpec, "path">): Buffer {
  const layout = imageLayout({ path: "x", ...spec });
  const buf = Buffer.alloc(2048);
  for (const c of layout.chunks) if (c.offset < buf.length) c.bytes.copy(buf, c.offset);
  return buf;
}

describe("format probes", () => {
  it("finds each format by its own header", () => {
    expect(probeDriver(probeBuffer({ format: "qed", size: 1 << 20 }), "x")?.name).toBe("qed");
    expect(probeDriver(probeBuffer({ format: "qcow", size: 1 << 20 }), "x")?.name).toBe("qcow");
    expect(probeDriver(probeBuffer({ format: "qcow2", size: 1 << 20 }), "x")?.name).toBe("qcow2");
    expect(probeDriver(probeBuffer({ format: "parallels", size: 1 << 20 }), "x")?.name).toBe("parallels");
  });

  it("takes parallels' old magic too, but no other version", () => {
    const buf = probeBuffer({ format: "parallels", size: 1 << 20 });
    buf.write("WithoutFreeSpace", 0, "latin1");
    expect(probeDriver(buf, "x")?.name).toBe("parallels");
    buf.writeUInt32LE(3, 16);
    expect(probeDriver(buf, "x")?.name).not.toBe("parallels");
  });

  it("leaves a qcow header of another version to qcow2 (2, 3) or to raw", () => {
    const buf = probeBuffer({ format: "qcow", size: 1 << 20 });
    buf.writeUInt32BE(3, 4);
    expect(probeDriver(buf, "x")?.name).toBe("qcow2");
    buf.writeUInt32BE(0, 4);
    expect(probeDriver(buf, "x")?.name).toBe("raw");
  });
});
