/**
 * An image qemu-img refuses fails its statement with the same words on both engines: qemu-img's
 * message without its `qemu-img: FILE: ` prefix. qemu-img opens a backing file before it creates
 * anything, so a missing one, or one that does not open in its format, is refused (the model used
 * to create the image all the same).
 */
import { expect, it } from "vitest";
import type { Engine, ImageSpec } from "../../src/engines/engine.js";
import { ImageCreateError } from "../../src/engines/errors.js";
import { createEngine } from "../../src/engines/factory/create.js";
import { describeWithQemu } from "../support/qemu.js";
import { qemuEngine, withEngine } from "./engines.js";

const CASES: { spec: ImageSpec; reason: string }[] = [
  { spec: { path: "a.vdi", format: "vdi", size: 3 << 20, backingFile: "x.qcow2", backingFormat: "qcow2" }, reason: "Backing file not supported for file format 'vdi'" },
  { spec: { path: "f.vhdx", format: "vhdx", size: 1 << 20, createOptions: [["subformat", "bogus"]] }, reason: "Parameter 'subformat' does not accept value 'bogus'" },
  {
    spec: { path: "b.qcow2", format: "qcow2", size: 1 << 20, backingFile: "nosuch.qcow2", backingFormat: "qcow2" },
    reason: "Could not open 'nosuch.qcow2': No such file or directory\nCould not open backing image.",
  },
  {
    spec: { path: "sub/j.qcow2", format: "qcow2", size: 1 << 20, backingFile: "nosuch.qcow2", backingFormat: "qcow2" },
    reason: "Could not open 'sub/nosuch.qcow2': No such file or directory\nCould not open backing image.",
  },
  {
    spec: { path: "l.qed", format: "qed", size: 1 << 20, backingFile: "nosuch.qed", backingFormat: "qed" },
    reason: "Could not open 'nosuch.qed': No such file or directory\nCould not open backing image.",
  },
  { spec: { path: "h.qcow2", format: "qcow2", size: 1 << 20, backingFile: "g.raw", backingFormat: "qcow2" }, reason: "Image is not in qcow2 format\nCould not open backing image." },
];

/** What each engine says about each case, after a raw image g.raw the last case backs onto. */
async function reasons(make: () => Engine): Promise<string[]> {
  return withEngine(make, async (engine) => {
    await engine.createImage({ path: "g.raw", format: "raw", size: 1 << 20 });
    const out: string[] = [];
    for (const { spec } of CASES) {
      const e = await engine.createImage(spec).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(ImageCreateError);
      out.push((e as ImageCreateError).reason);
    }
    return out;
  });
}

it("the model refuses these images in qemu-img's words", async () => {
  expect(await reasons(() => createEngine("model"))).toEqual(CASES.map((c) => c.reason));
});

describeWithQemu("qemu-img", () => {
  it("refuses them in the same words, once its prefix is gone", async () => {
    expect(await reasons(qemuEngine)).toEqual(CASES.map((c) => c.reason));
  });
});
