/**
 * V8's code cache for the bundled CLI (src/cli/code-cache.ts): a module loads the same with or
 * without it, the cache is written once per use and then used, and a damaged, foreign or
 * unwritable cache costs only the cache.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { codeCacheFile, loadWithCodeCache } from "../src/cli/code-cache.js";
import { useOf } from "../src/cli/launch.js";

let dir: string;
let cacheDir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "bc-code-cache-"));
  cacheDir = path.join(dir, "cache");
  file = path.join(dir, "module.cjs");
  // CommonJS as a bundle is: its own require, __filename, and functions compiled on first call.
  writeFileSync(
    file,
    [
      'const path = require("node:path");',
      "function twice(x) { return 2 * x; }",
      "module.exports = { twice, here: path.basename(__filename), dir: __dirname, self: this === module.exports };",
    ].join("\n"),
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

type Exports = { twice: (x: number) => number; here: string; dir: string; self: boolean };

describe("the code cache", () => {
  it("loads a CommonJS module as Node does, then keeps and uses its compiled code", () => {
    const first = loadWithCodeCache(file, "id1", cacheDir);
    expect(first.state).toBe("absent");
    const exports = first.exports as Exports;
    expect(exports.twice(21)).toBe(42);
    expect(exports).toMatchObject({ here: "module.cjs", dir, self: true });
    first.save();
    expect(readdirSync(cacheDir)).toEqual([path.basename(codeCacheFile(cacheDir, "id1"))]);
    const second = loadWithCodeCache(file, "id1", cacheDir);
    expect(second.state).toBe("accepted");
    expect((second.exports as Exports).twice(4)).toBe(8);
  });

  it("is written again by a use it has not seen, with what that use compiled, and not by one it has", () => {
    const cached = codeCacheFile(cacheDir, "id1");
    loadWithCodeCache(file, "id1", cacheDir, "check").save();
    const written = statSync(cached).mtimeMs;
    const again = loadWithCodeCache(file, "id1", cacheDir, "check");
    expect(again.state).toBe("accepted");
    again.save();
    expect(statSync(cached).mtimeMs).toBe(written);
    const other = loadWithCodeCache(file, "id1", cacheDir, "run qemu");
    expect(other.state).toBe("accepted");
    (other.exports as Exports).twice(1);
    other.save();
    for (const use of ["check", "run qemu"]) {
      const later = loadWithCodeCache(file, "id1", cacheDir, use);
      expect(later.state).toBe("accepted");
      const before = readFileSync(cached);
      later.save();
      expect(readFileSync(cached).equals(before)).toBe(true);
    }
  });

  it("tells uses apart by the command and the engines of a run", () => {
    expect(useOf(["check", "x.scn"])).toBe("check");
    expect(useOf(["run"])).toBe("run model");
    expect(useOf(["run", "--ci", "--engine", "qemu", "a.scn"])).toBe("run qemu");
    expect(useOf(["run", "-e", "both"])).toBe("run both");
    expect(useOf(["run", "--engine=qemu"])).toBe("run qemu");
    expect(useOf(["run", "-eqemu"])).toBe("run qemu");
  });

  it("ignores a cache whose checksum fails, and writes it again", () => {
    const first = loadWithCodeCache(file, "id1", cacheDir);
    first.save();
    const cached = codeCacheFile(cacheDir, "id1");
    const bytes = readFileSync(cached);
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(cached, bytes);
    const damaged = loadWithCodeCache(file, "id1", cacheDir);
    expect(damaged.state).toBe("rejected");
    expect((damaged.exports as Exports).twice(1)).toBe(2);
    damaged.save();
    expect(loadWithCodeCache(file, "id1", cacheDir).state).toBe("accepted");
  });

  it("ties the cache to the bundle's id, and works without a cache directory", () => {
    loadWithCodeCache(file, "id1", cacheDir).save();
    expect(loadWithCodeCache(file, "id2", cacheDir).state).toBe("absent");
    const none = loadWithCodeCache(file, "id1", undefined);
    expect(none.state).toBe("absent");
    none.save();
    expect((none.exports as Exports).twice(3)).toBe(6);
  });

  it("costs nothing but the cache where it cannot be written", () => {
    const blocker = path.join(dir, "blocker");
    writeFileSync(blocker, "x");
    const loaded = loadWithCodeCache(file, "id1", path.join(blocker, "cache"));
    expect(() => loaded.save()).not.toThrow();
    expect((loaded.exports as Exports).twice(5)).toBe(10);
  });

  it("keeps the four newest cache files", () => {
    mkdirSync(cacheDir);
    for (let i = 0; i < 5; i++) {
      const old = path.join(cacheDir, `cli-old${i}-v0-x64.v8`);
      writeFileSync(old, "x");
      utimesSync(old, 1000 + i, 1000 + i);
    }
    loadWithCodeCache(file, "id1", cacheDir).save();
    expect(readdirSync(cacheDir).sort()).toEqual([path.basename(codeCacheFile(cacheDir, "id1")), "cli-old2-v0-x64.v8", "cli-old3-v0-x64.v8", "cli-old4-v0-x64.v8"].sort());
  });
});
