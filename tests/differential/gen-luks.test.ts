/** The luks part of the differential generator: which sequences get a LUKS image, and its mask. */
import { describe, expect, it } from "vitest";
import { sequenceSeed } from "../../src/fuzz/prng.js";
import { imageLayout } from "../../src/engines/model/images/write-image.js";
import { LUKS_IMAGE, LUKS_IMAGE_STEP, luksPrologue, maskLuksImage } from "./gen-luks.js";

describe("luks in the differential generator", () => {
  it("gives a share of the sequences a LUKS image and a luks node, and every one the secrets", () => {
    const prologues = Array.from({ length: 300 }, (_, i) => luksPrologue(sequenceSeed(20260728, i)));
    const withImage = prologues.filter((p) => p.some((s) => s.kind === "image"));
    expect(withImage.length).toBeGreaterThan(8);
    expect(withImage.length).toBeLessThan(40);
    for (const p of prologues) expect(p.filter((s) => s.kind === "qmp" && s.execute === "object-add")).toHaveLength(2);
    for (const p of withImage) expect(p.at(-1)).toMatchObject({ kind: "qmp", execute: "blockdev-add", arguments: { driver: "luks" } });
  });

  it("masks the image's random fields by its layout, even once its header is gone", () => {
    const layout = imageLayout(LUKS_IMAGE_STEP.spec);
    const file = Buffer.alloc(layout.length);
    for (const c of layout.chunks) c.bytes.copy(file, c.offset);
    file.fill(0, 0, 592);
    const masked = maskLuksImage(LUKS_IMAGE, Buffer.from(file));
    // Slot 0's key material (4096..260096) is zeroed; the payload is left alone.
    expect(masked.subarray(4096, 260096).every((b) => b === 0)).toBe(true);
    expect(file.subarray(4096, 260096).some((b) => b !== 0)).toBe(true);
    expect(maskLuksImage("other.img", Buffer.from(file)).equals(file)).toBe(true);
  });
});
