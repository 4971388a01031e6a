/**
 * The warm pool starts the qemu engines of the next -j scenarios ahead: each gets its own fresh
 * engine and scratch directory, started with its own features; the scenario's start() joins that
 * start; and whatever is never taken is stopped and removed.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engines/engine.js";
import { WarmPool } from "../../src/runner/warm-pool.js";
import { FakeEngine } from "./support/fake-engine.js";
import { scenario } from "./support/scenario.js";

let parent: string;
beforeEach(() => {
  parent = mkdtempSync(path.join(os.tmpdir(), "bc-warm-"));
});
afterEach(() => rmSync(parent, { recursive: true, force: true }));

const plain = scenario('scenario "plain"\nadd n0: null-co\n')[0]!;
const io = scenario('scenario "io"\nrequire io\nadd n0: null-co\n')[0]!;

function pool(instances = [plain, io, plain, plain, plain], depth = 2) {
  const made: FakeEngine[] = [];
  const warm = new WarmPool(instances, depth, {
    kind: "qemu",
    makeEngine: (kind) => {
      const e = new FakeEngine(kind);
      made.push(e);
      return e;
    },
    scratchParent: parent,
    keepScratch: false,
  });
  return { warm, made };
}

describe("WarmPool", () => {
  it("starts the next `depth` instances' engines ahead, each in its own scratch directory with its own features", async () => {
    const { warm, made } = pool();
    expect(await warm.take(0)).toBeUndefined();
    const w1 = (await warm.take(1))!;
    expect(w1).toBeDefined();
    // Taking 0 prepared 1 and 2, taking 1 prepared 3: one engine each, started once.
    await new Promise((r) => setTimeout(r, 10));
    expect(made).toHaveLength(3);
    expect(made.every((e) => e.started)).toBe(true);
    expect(made[0]!.startOptions!.features).toEqual(new Set(["io"]));
    expect(made[1]!.startOptions!.features).toEqual(new Set());
    expect(new Set(made.map((e) => e.startOptions!.workdir)).size).toBe(3);
    expect(w1.scratch.dir).toBe(made[0]!.startOptions!.workdir);
    expect(readdirSync(parent)).toHaveLength(3);
    await warm.dispose();
  });

  it("joins the start already under way, and passes the run's abort on", async () => {
    const { warm, made } = pool();
    await warm.take(0);
    const w1 = (await warm.take(1))!;
    const abort = new AbortController();
    await w1.engine.start({ workdir: w1.scratch.dir, signal: abort.signal, features: new Set(["io"]) });
    expect(made[0]!.startOptions!.signal!.aborted).toBe(false);
    abort.abort();
    expect(made[0]!.startOptions!.signal!.aborted).toBe(true);
    await expect(w1.engine.start({ workdir: path.join(parent, "other"), features: new Set() })).rejects.toThrow(/warm engine started in/);
    await warm.dispose();
  });

  it("stops and removes what was never taken, and prepares nothing after dispose", async () => {
    const { warm, made } = pool();
    await warm.take(0);
    const taken = (await warm.take(1))!;
    await warm.dispose();
    const untaken = made.filter((e) => e.startOptions!.workdir !== taken.scratch.dir);
    expect(untaken).toHaveLength(2);
    expect(untaken.every((e) => e.stopped === 1)).toBe(true);
    expect(untaken.every((e) => !existsSync(e.startOptions!.workdir))).toBe(true);
    // The taken one is the scenario's: still there, not stopped by the pool.
    expect(existsSync(taken.scratch.dir)).toBe(true);
    expect(made.find((e) => e.startOptions!.workdir === taken.scratch.dir)!.stopped).toBe(0);
    const before = made.length;
    expect(await warm.take(2)).toBeUndefined();
    expect(made).toHaveLength(before);
    rmSync(taken.scratch.dir, { recursive: true, force: true });
  });

  it("never prepares past the last instance", async () => {
    const { warm, made } = pool([plain, plain], 8);
    await warm.take(0);
    expect(made).toHaveLength(1);
    const engine: Engine | undefined = (await warm.take(1))?.engine;
    expect(engine).toBeDefined();
    expect(made).toHaveLength(1);
    await warm.dispose();
  });
});
