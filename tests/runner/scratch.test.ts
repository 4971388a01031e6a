/**
 * Scratch directories: marked with their owner while in use, handed over whole when kept, and swept
 * by a later run only when their owner is gone (a pid reused by another process does not count).
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pendingCleanups } from "../../src/lifetime/exit-cleanup.js";
import { ownerAlive, ownerStamp } from "../../src/lifetime/owner.js";
import { createScratch, keepScratch, materializeScratch, planScratch, removeScratch, sweepStaleScratch } from "../../src/runner/scratch.js";

let parent: string;
beforeEach(async () => {
  parent = await mkdtemp(path.join(os.tmpdir(), "bc-scratch-"));
});
afterEach(async () => {
  await rm(parent, { recursive: true, force: true });
});

const exists = (p: string) => stat(p).then(() => true, () => false);
const deadPid = () => spawnSync("true").pid!;

describe("scratch directories", () => {
  it("an owner stamp is alive only while its process runs, and not for a reused pid", () => {
    expect(ownerAlive(ownerStamp())).toBe(true);
    expect(ownerAlive(`${deadPid()}`)).toBe(false);
    const [pid, start] = ownerStamp().split(" ");
    expect(start).toMatch(/^\d+$/);
    expect(ownerAlive(`${pid} ${Number(start) + 1}`)).toBe(false);
    expect(ownerAlive("not a stamp")).toBe(true);
  });

  it("is marked with its owner while in use; kept, it loses the mark; removed, it is gone", async () => {
    const before = pendingCleanups();
    const a = await createScratch(parent);
    expect((await readFile(path.join(a.dir, ".blockcheck-owner"), "utf8")).trim()).toBe(ownerStamp());
    expect(pendingCleanups()).toBe(before + 1);
    await writeFile(path.join(a.dir, "disk.img"), "x");
    await keepScratch(a);
    expect(await readdir(a.dir)).toEqual(["disk.img"]);
    const b = await createScratch(parent);
    await removeScratch(b);
    expect(await exists(b.dir)).toBe(false);
    const c = await createScratch(parent, { keep: true });
    expect(await readdir(c.dir)).toEqual([]);
    expect(pendingCleanups()).toBe(before);
  });

  it("a planned directory is only a name until it is kept: removing it touches nothing", async () => {
    const before = pendingCleanups();
    const a = planScratch(parent);
    const b = planScratch(parent);
    expect(a.dir).not.toBe(b.dir);
    expect(path.dirname(a.dir)).toBe(parent);
    expect(path.basename(a.dir)).toMatch(/^blockcheck-/);
    expect(await readdir(parent)).toEqual([]);
    await removeScratch(a);
    expect(pendingCleanups()).toBe(before);
    await keepScratch(b);
    expect((await stat(b.dir)).mode & 0o777).toBe(0o700);
    expect(await readdir(b.dir)).toEqual([]);
    materializeScratch(b);
    expect(await readdir(parent)).toEqual([path.basename(b.dir)]);
  });

  it("a parent that cannot take a directory fails the plan as it fails createScratch", async () => {
    await writeFile(path.join(parent, "file"), "");
    expect(() => planScratch(path.join(parent, "file"))).toThrow(/^cannot create a scratch directory in .*\/file: not a directory \(ENOTDIR\)$/);
  });

  it("a later run sweeps only directories whose owner is gone", async () => {
    const make = async (name: string, owner?: string) => {
      await mkdir(path.join(parent, name));
      if (owner !== undefined) await writeFile(path.join(parent, name, ".blockcheck-owner"), owner + "\n");
    };
    await make("blockcheck-dead", `${deadPid()} 1`);
    await make("blockcheck-live", ownerStamp());
    await make("blockcheck-kept");
    await make("other-dead", `${deadPid()}`);
    expect(await sweepStaleScratch(parent)).toEqual([path.join(parent, "blockcheck-dead")]);
    expect((await readdir(parent)).sort()).toEqual(["blockcheck-kept", "blockcheck-live", "other-dead"]);
  });
});
