/**
 * File-system failures during a run are results, not crashes: a full disk under a model image or a
 * golden fails that scenario with the path; an unusable scratch directory, --output or golden
 * directory for the whole run stops it with a configuration error (exit 2) naming the path. Failures
 * are injected (the tests run as root) or come from a path under a regular file.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createEngine } from "../../src/engines/factory/create.js";
import type { Engine } from "../../src/engines/engine.js";
import { runScenarios, type RunOptions } from "../../src/runner/run-all.js";
import { invoke } from "./support/cli.js";
import { modelRunOptions } from "./support/run-options.js";

const unreadable = vi.hoisted(() => ({ suffix: "/unreadable.scn" }));
// Scenario files are read with readFileSync (runner/load.ts), other files with the promise API.
vi.mock("node:fs", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs")>();
  return {
    ...real,
    readFileSync: (p: string, o: never) => {
      if (String(p).endsWith(unreadable.suffix)) {
        throw Object.assign(new Error(`EACCES: permission denied, open '${String(p)}'`), { code: "EACCES", syscall: "open", path: String(p) });
      }
      return real.readFileSync(p, o);
    },
  };
});
vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>();
  return {
    ...real,
    readFile: async (p: string, o: never) => {
      if (String(p).endsWith(unreadable.suffix)) {
        throw Object.assign(new Error(`EACCES: permission denied, open '${String(p)}'`), { code: "EACCES", syscall: "open", path: String(p) });
      }
      return real.readFile(p, o);
    },
  };
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "bc-fs-"));
  await mkdir(path.join(dir, "tests/scenarios"), { recursive: true });
  await writeFile(path.join(dir, "tests/scenarios/image.scn"), 'scenario "image"\nimage disk.raw raw 1M\nadd f0: file filename=disk.raw\n');
  await writeFile(path.join(dir, "tests/scenarios/plain.scn"), 'scenario "plain"\nadd n0: null-co\n');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A model engine whose image writes fail as a full disk makes them fail. */
function diskFullImages(): Engine {
  const engine = createEngine("model");
  return new Proxy(engine, {
    get(target, prop) {
      if (prop === "createImage") {
        return async () => {
          throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", syscall: "write" });
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

const options = (over: Partial<RunOptions> = {}) => modelRunOptions(dir, { update: true, ...over });
const scratchDirs = async () => (await readdir(dir)).filter((n) => n.startsWith("blockcheck-"));

describe("file-system failures in a run", () => {
  it("ENOSPC writing a model image fails that scenario, naming the cause; the others run", async () => {
    const summary = await runScenarios(options({ makeEngine: () => diskFullImages() }));
    const byName = Object.fromEntries(summary.results.map((r) => [r.name, r]));
    expect(byName.plain!.status).toBe("pass");
    expect(byName.image!.status).toBe("fail");
    expect(byName.image!.failures.map((f) => f.message).join("\n")).toContain("no space left on device (ENOSPC)");
    // The failed run's scratch directory is kept, the passed one's removed.
    expect(await scratchDirs()).toHaveLength(1);
    await rm(byName.image!.scratchDir!, { recursive: true, force: true });
  });

  it("a golden directory under a regular file fails each scenario with the path, not the run", async () => {
    await writeFile(path.join(dir, "file"), "");
    const summary = await runScenarios(options({ goldenRoot: path.join(dir, "file/golden"), keepScratch: false }));
    expect(summary.results.map((r) => [r.name, r.status, r.failures[0]?.message])).toEqual([
      ["image", "fail", "cannot read file/golden/image.model.out: not a directory (ENOTDIR)"],
      ["plain", "fail", "cannot read file/golden/plain.model.out: not a directory (ENOTDIR)"],
    ]);
    for (const r of summary.results) await rm(r.scratchDir!, { recursive: true, force: true });
  });

  it("a scenario file that cannot be read fails as a file that does not load", async () => {
    await writeFile(path.join(dir, "tests/scenarios/unreadable.scn"), "");
    const summary = await runScenarios(options());
    const r = summary.results.find((x) => x.name === "unreadable")!;
    expect(r.status).toBe("fail");
    expect(r.failures[0]!.details).toBe("cannot read tests/scenarios/unreadable.scn: permission denied (EACCES)");
    expect(summary.results.filter((x) => x.status === "pass")).toHaveLength(2);
  });

  it("a scratch directory that cannot be made stops the run with a configuration error naming it", async () => {
    await writeFile(path.join(dir, "file"), "");
    await expect(runScenarios(options({ scratchParent: path.join(dir, "file") }))).rejects.toMatchObject({
      code: "E_CONFIG",
      message: expect.stringMatching(/^cannot create a scratch directory in .*\/file: not a directory \(ENOTDIR\)$/),
    });
  });

  it("--output under a regular file is a configuration error; an unwritable times file only a warning", async () => {
    await writeFile(path.join(dir, "file"), "");
    await expect(invoke(["run", "--output", "file/out.json", "--reporter", "json"], { cwd: dir })).rejects.toMatchObject({
      code: "E_CONFIG",
      message: expect.stringContaining("file/out.json"),
    });
    await writeFile(path.join(dir, ".blockcheck"), "");
    const r = await invoke(["run", "--update"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^blockcheck run: warning: run times not saved: cannot create directory \.blockcheck: .*\(EEXIST\)\n$/);
  });
});
