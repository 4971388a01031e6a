/**
 * The model's generic code calls driver hooks and never asks which driver a node has, nor reads a
 * driver's state: a new driver touches its own file and the driver table only.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const modelDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src/engines/model");

/** Every .ts file under the model, outside drivers/. */
function genericFiles(dir = modelDir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "drivers" ? [] : genericFiles(full);
    return e.name.endsWith(".ts") ? [full] : [];
  });
}

/** Lines of the generic files that match `pattern`, as "file:line: text". */
function offending(pattern: RegExp): string[] {
  return genericFiles().flatMap((file) =>
    readFileSync(file, "utf8")
      .split("\n")
      .flatMap((line, i) => (pattern.test(line) ? [`${path.relative(modelDir, file)}:${i + 1}: ${line.trim()}`] : [])),
  );
}

describe("the driver seam", () => {
  it("has generic files to check", () => {
    expect(genericFiles().length).toBeGreaterThan(20);
  });

  it("no generic code compares a driver's name", () => {
    expect(offending(/driver\.name\s*[!=]==|drv\.name\s*[!=]==|[!=]==\s*\w+\.driver\.name/)).toEqual([]);
  });

  it("no generic code reads a driver's opaque state", () => {
    expect(offending(/\.opaque\b/).filter((l) => !l.startsWith("opaque.ts:") && !l.startsWith("graph.ts:"))).toEqual([]);
  });
});
