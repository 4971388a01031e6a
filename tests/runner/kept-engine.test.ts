/**
 * What runInstance does with an engine that kept its process at stop() (Engine.successor): a
 * passing run hands the successor on with its scratch directory; a run whose directory is kept for
 * the user ends the process; and so does a throw after the run (a bug in the golden check), so that
 * no kept QEMU is left without an owner.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Engine } from "../../src/engines/engine.js";
import { runInstance, type InstanceOptions } from "../../src/runner/run-instance.js";
import { createScratch, removeScratch } from "../../src/runner/scratch.js";
import type { Warmed } from "../../src/runner/warm-pool.js";
import { FakeEngine } from "./support/fake-engine.js";
import { scenario } from "./support/scenario.js";

const golden = vi.hoisted(() => ({ throwOnCheck: false }));
vi.mock("../../src/golden/check.js", async (original) => {
  const real = await original<typeof import("../../src/golden/check.js")>();
  return {
    ...real,
    checkGolden: (...args: Parameters<typeof real.checkGolden>) => {
      if (golden.throwOnCheck) throw new Error("a bug in the golden check");
      return real.checkGolden(...args);
    },
  };
});

/** A fake that, like the qemu engine started reusable, has a process to hand on after stop(). */
class KeepingEngine extends FakeEngine {
  readonly asked: boolean[] = [];
  async successor(take: boolean): Promise<Engine | undefined> {
    this.asked.push(take);
    return take ? new FakeEngine("qemu") : undefined;
  }
}

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "bc-kept-"));
  golden.throwOnCheck = false;
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const inst = scenario('scenario "kept"\nadd n0: null-co\n')[0]!;

async function run(engine: KeepingEngine, extra: Partial<InstanceOptions>) {
  const scratch = await createScratch(root);
  const recycled: Warmed[] = [];
  const warmed: Warmed = { scratch, engine };
  const result = runInstance(inst, {
    cwd: root,
    goldenRoot: path.join(root, "golden"),
    engines: ["qemu"],
    timeoutMs: 10_000,
    keepScratch: false,
    update: false,
    ci: false,
    color: false,
    makeEngine: () => new FakeEngine("qemu"),
    scratchParent: root,
    warmed,
    recycle: (next) => recycled.push(next),
    ...extra,
  });
  return { result, scratch, recycled };
}

describe("an engine that kept its process", () => {
  it("goes on with the scratch directory when the run passes", async () => {
    await (await run(new KeepingEngine("qemu"), { update: true })).result;
    const engine = new KeepingEngine("qemu");
    const { result, scratch, recycled } = await run(engine, {});
    expect((await result)[0]!.status).toBe("pass");
    expect(engine.asked).toEqual([true]);
    expect(recycled).toHaveLength(1);
    expect(recycled[0]!.scratch).toBe(scratch);
    // Neither removed nor kept: it is the next scenario's.
    expect(existsSync(scratch.dir)).toBe(true);
    await removeScratch(scratch);
  });

  it("ends its process when the run fails and its directory is kept", async () => {
    const engine = new KeepingEngine("qemu");
    const { result, scratch, recycled } = await run(engine, { ci: true });
    expect((await result)[0]!.status).toBe("fail");
    expect(engine.asked).toEqual([false]);
    expect(recycled).toEqual([]);
    expect(existsSync(scratch.dir)).toBe(true);
  });

  it("ends its process when something throws after the run", async () => {
    golden.throwOnCheck = true;
    const engine = new KeepingEngine("qemu");
    const { result, recycled } = await run(engine, {});
    await expect(result).rejects.toThrow("a bug in the golden check");
    expect(engine.asked).toEqual([false]);
    expect(recycled).toEqual([]);
  });
});
