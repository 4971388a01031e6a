/**
 * Removing scratch trees: everything goes (nested directories, sockets, symlinks
 * without following them), a missing path is no error, and a failure other than "missing" is thrown.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { removeTree, unlinkIfExists } from "../src/remove-tree.js";

let base: string;
beforeEach(() => {
  base = mkdtempSync(path.join(os.tmpdir(), "bc-remove-"));
});
afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

describe("removeTree", () => {
  it("removes files, nested directories, sockets and symlinks, without following the links", async () => {
    const dir = path.join(base, "scratch");
    mkdirSync(path.join(dir, "a", "b"), { recursive: true });
    writeFileSync(path.join(dir, "hd0.img"), Buffer.alloc(65536));
    writeFileSync(path.join(dir, "a", "b", "deep"), "x");
    const outside = path.join(base, "outside");
    mkdirSync(outside);
    writeFileSync(path.join(outside, "keep"), "x");
    symlinkSync(outside, path.join(dir, "link-to-dir"));
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(dir, "qmp.sock"), resolve));
    expect(existsSync(path.join(dir, "qmp.sock"))).toBe(true);
    await removeTree(dir);
    server.close();
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(path.join(outside, "keep"))).toBe(true);
  });

  it("takes a missing path as removed, and a file as the tree to remove", async () => {
    await removeTree(path.join(base, "missing"));
    const file = path.join(base, "file");
    writeFileSync(file, "x");
    await removeTree(file);
    expect(existsSync(file)).toBe(false);
    expect(() => unlinkIfExists(file)).not.toThrow();
  });

  it("rejects with what stops the removal (a path under a regular file)", async () => {
    const file = path.join(base, "file");
    writeFileSync(file, "x");
    await expect(removeTree(path.join(file, "scratch"))).rejects.toThrow(/ENOTDIR/);
    expect(() => unlinkIfExists(path.join(file, "sock"))).toThrow(/ENOTDIR/);
  });
});
