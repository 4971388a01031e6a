/**
 * The warm pool hands every qemu run an engine started with its features: one ready (started ahead,
 * or kept from a finished scenario and given back), else one started now; it starts ahead what the
 * next -j scenarios will lack; and whatever is never taken is stopped and removed.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Engine, EngineStartOptions } from "../../src/engines/engine.js";
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
const job = scenario('scenario "job"\nrequire jobs\nadd n0: null-co\n')[0]!;
const lists = scenario('scenario "lists /objects"\niothread io0\nqmp qom-list {"path": "/objects"}\n')[0]!;

/** A fake whose stop() keeps its "process" when started reusable, as the qemu engine may. */
class KeepingEngine extends FakeEngine {
  successors = 0;
  override async start(opts: EngineStartOptions): Promise<void> {
    await super.start(opts);
  }
  async successor(take: boolean): Promise<Engine | undefined> {
    if (!take || !this.startOptions?.reusable) return undefined;
    this.successors++;
    return new KeepingEngine("qemu");
  }
}

function pool(instances = [plain, io, plain, plain, plain], depth = 2, reuse = false) {
  const made: KeepingEngine[] = [];
  const warm = new WarmPool(instances, depth, {
    kind: "qemu",
    makeEngine: (kind) => {
      const e = new KeepingEngine(kind);
      made.push(e);
      return e;
    },
    scratchParent: parent,
    keepScratch: false,
    reuse,
  });
  return { warm, made };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe("WarmPool", () => {
  it("starts each taken instance's engine, and ahead those the next `depth` instances lack, each in its own scratch directory", async () => {
    const { warm, made } = pool();
    const w0 = (await warm.take(0))!;
    // Taking 0 started it, and ahead 1 (io) and 2 (plain).
    await settle();
    expect(made).toHaveLength(3);
    expect(made.every((e) => e.started)).toBe(true);
    expect(made[0]!.startOptions!.features).toEqual(new Set());
    expect(made[1]!.startOptions!.features).toEqual(new Set(["io"]));
    expect(w0.scratch.dir).toBe(made[0]!.startOptions!.workdir);
    const w1 = (await warm.take(1))!;
    expect(w1.scratch.dir).toBe(made[1]!.startOptions!.workdir);
    expect(new Set(made.map((e) => e.startOptions!.workdir)).size).toBe(made.length);
    expect(readdirSync(parent)).toHaveLength(made.length);
    await warm.dispose();
  });

  it("serves a scenario with any engine started for the same binary: only `io` tells them apart", async () => {
    const { warm, made } = pool([plain, job, io], 2);
    await warm.take(0);
    await settle();
    // Ahead for 1 (jobs) and 2 (io): a daemon serves both plain and job scenarios.
    expect(made.map((e) => [...e.startOptions!.features!])).toEqual([[], ["jobs"], ["io"]]);
    const w1 = (await warm.take(1))!;
    expect(w1.scratch.dir).toBe(made[1]!.startOptions!.workdir);
    await warm.dispose();
  });

  it("joins the start already under way, and passes the run's abort on", async () => {
    const { warm, made } = pool();
    await warm.take(0);
    const w1 = (await warm.take(1))!;
    const abort = new AbortController();
    await w1.engine.start({ workdir: w1.scratch.dir, signal: abort.signal, features: new Set(["io"]) });
    expect(made[1]!.startOptions!.signal!.aborted).toBe(false);
    abort.abort();
    expect(made[1]!.startOptions!.signal!.aborted).toBe(true);
    await expect(w1.engine.start({ workdir: path.join(parent, "other"), features: new Set() })).rejects.toThrow(/warm engine started in/);
    await warm.dispose();
  });

  it("with reuse, counts the engines in use as coming back, and hands a given-back engine to the next scenario in the same directory", async () => {
    const { warm, made } = pool([plain, plain, plain], 2, true);
    const w0 = (await warm.take(0))!;
    await settle();
    // 1 and 2 are plain: the engine in use comes back for one, so one more is started ahead.
    expect(made).toHaveLength(2);
    expect(made[0]!.startOptions!.reusable).toBe(true);
    const next = (await w0.engine.successor!(true))!;
    warm.giveBack(0, { scratch: w0.scratch, engine: next });
    const w1 = (await warm.take(1))!;
    expect(w1.scratch.dir).toBe(made[1]!.startOptions!.workdir);
    const w2 = (await warm.take(2))!;
    // The given-back engine, started again in its directory, serves 2.
    expect(w2.scratch.dir).toBe(w0.scratch.dir);
    expect((next as KeepingEngine).startOptions!.workdir).toBe(w0.scratch.dir);
    expect(made).toHaveLength(2);
    await warm.dispose();
  });

  it("keeps the engines of scenarios that see the order of /objects apart, started to keep no process an object was added to", async () => {
    const { warm, made } = pool([plain, lists, plain], 2, true);
    const w0 = (await warm.take(0))!;
    await settle();
    // 1 sees the order: it gets an engine of its own; 2 waits for 0's.
    expect(made.map((e) => e.startOptions!.objectOrder)).toEqual([false, true]);
    const next = (await w0.engine.successor!(true))!;
    warm.giveBack(0, { scratch: w0.scratch, engine: next });
    const w1 = (await warm.take(1))!;
    expect(w1.scratch.dir).toBe(made[1]!.startOptions!.workdir);
    const w2 = (await warm.take(2))!;
    // 0's process, which may have had objects added, goes on with 2 only.
    expect(w2.scratch.dir).toBe(w0.scratch.dir);
    expect((next as KeepingEngine).startOptions!.objectOrder).toBe(false);
    await warm.dispose();
  });

  it("stops and removes what was started or given back and never taken, and hands out nothing after dispose", async () => {
    const { warm, made } = pool([plain, plain, plain, plain], 2, true);
    const w0 = (await warm.take(0))!;
    const next = (await w0.engine.successor!(true)) as KeepingEngine;
    warm.giveBack(0, { scratch: w0.scratch, engine: next });
    await settle();
    await warm.dispose();
    expect(next.stopped).toBe(1);
    expect(existsSync(w0.scratch.dir)).toBe(false);
    const untaken = made.slice(1);
    expect(untaken.every((e) => e.stopped === 1 && !existsSync(e.startOptions!.workdir))).toBe(true);
    expect(await warm.take(1)).toBeUndefined();
    // Given back after dispose: stopped and removed at once.
    const late = new KeepingEngine("qemu");
    const dir = mkdtempSync(path.join(parent, "late-"));
    warm.giveBack(3, { scratch: { dir, aliases: [dir] }, engine: late });
    await settle();
    expect(late.stopped).toBe(1);
    expect(existsSync(dir)).toBe(false);
  });

  it("never starts past the last instance", async () => {
    const { warm, made } = pool([plain, plain], 8);
    await warm.take(0);
    expect(made).toHaveLength(2);
    await warm.take(1);
    expect(made).toHaveLength(2);
    await warm.dispose();
  });
});
