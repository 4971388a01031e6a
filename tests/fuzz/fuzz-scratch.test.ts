/**
 * The fuzzer's scratch directories (src/fuzz/fuzz-scratch.ts): used again once emptied, and one
 * that something else removed during the run is a file-system error that names it, not a crash.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { FileSystemError } from "../../src/file-errors.js";
import { FuzzScratch } from "../../src/fuzz/fuzz-scratch.js";

const parents: string[] = [];
afterEach(() => {
  for (const p of parents.splice(0)) rmSync(p, { recursive: true, force: true });
});

async function scratchIn(): Promise<FuzzScratch> {
  const parent = mkdtempSync(path.join(os.tmpdir(), "bc-fuzz-scratch-"));
  parents.push(parent);
  return FuzzScratch.create(parent);
}

it("empties a directory and gives it out again", async () => {
  const scratch = await scratchIn();
  const a = scratch.make();
  writeFileSync(path.join(a.dir, "img.qcow2"), "x");
  scratch.drop(a);
  const b = scratch.make();
  expect(b.dir).toBe(a.dir);
  expect(existsSync(path.join(b.dir, "img.qcow2"))).toBe(false);
  await scratch.close();
});

it("reports a directory removed behind its back as a file-system error naming it", async () => {
  const scratch = await scratchIn();
  const a = scratch.make();
  // A cleanup of the temp directory while the fuzzer runs.
  rmSync(path.dirname(a.dir), { recursive: true, force: true });
  expect(() => scratch.drop(a)).toThrow(FileSystemError);
  expect(() => scratch.drop(a)).toThrow(`cannot empty scratch directory ${a.dir}: no such file or directory`);
  expect(() => scratch.make()).toThrow(FileSystemError);
  await scratch.close();
});
