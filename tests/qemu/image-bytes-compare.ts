/**
 * Comparing the model's image writers with `qemu-img create`: the same length, allocation and
 * bytes, except for named fields qemu-img fills with random bytes or the time, which are masked.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import type { ImageSpec } from "../../src/engines/engine.js";
import { qemuImgCreateArgs } from "../../src/engines/qemu/images.js";
import { writeImage } from "../../src/engines/model/images/write-image.js";

const img = process.env.QEMU_IMG_PROG ?? "qemu-img";

/** Bytes qemu-img writes at random or from the clock: where they are, and what they are. */
export interface MaskedField {
  name: string;
  /** Offset in the file; negative: from the end. */
  offset: number;
  length: number;
}

/** Zero the masked fields of a file's bytes (a copy). */
function masked(bytes: Buffer, fields: readonly MaskedField[]): Buffer {
  const out = Buffer.from(bytes);
  for (const f of fields) {
    const at = f.offset < 0 ? out.length + f.offset : f.offset;
    out.fill(0, at, Math.min(out.length, at + f.length));
  }
  return out;
}

/**
 * Write `spec` with the model's writer and with qemu-img into `dir`; expect the same size, block
 * count and bytes outside `fields` (or the fields found in qemu-img's file). Returns the two files' bytes (unmasked) for further checks.
 */
export function expectSameAsQemuImg(
  dir: string,
  spec: ImageSpec,
  fields: readonly MaskedField[] | ((bytes: Buffer) => readonly MaskedField[]),
  opts: { extentTreeSlack?: boolean } = {},
): { ours: Buffer; theirs: Buffer } {
  const ours = path.join(dir, `model-${spec.path}`);
  const theirs = path.join(dir, `qemu-img-${spec.path}`);
  writeImage(ours, spec);
  execFileSync(img, qemuImgCreateArgs({ ...spec, path: theirs }), { cwd: dir });
  const [a, b] = [statSync(ours), statSync(theirs)];
  // With extentTreeSlack, one 4 KiB block either way: ext4 spends one on an extent tree once a file
  // is in more than four physical pieces, and where the allocator puts a large write is not ours.
  const blocks = opts.extentTreeSlack && Math.abs(a.blocks - b.blocks) <= 8 ? b.blocks : a.blocks;
  expect({ spec, size: a.size, blocks }).toEqual({ spec, size: b.size, blocks: b.blocks });
  const [x, y] = [readFileSync(ours), readFileSync(theirs)];
  const fieldsOf = (b: Buffer) => (typeof fields === "function" ? fields(b) : fields);
  const [mx, my] = [masked(x, fieldsOf(y)), masked(y, fieldsOf(y))];
  if (!mx.equals(my)) {
    let i = 0;
    while (mx[i] === my[i]) i++;
    expect.fail(`${spec.path}: first difference from qemu-img's at byte ${i} (0x${i.toString(16)})`);
  }
  return { ours: x, theirs: y };
}
