/**
 * The bundled CLI (scripts/bundle.ts), built from the sources the way `npm run build` builds it from
 * dist/, and run as a user runs bin/blockcheck.js: its version, a check, a run on the model and on
 * QEMU, and a model run on worker threads (the worker is a separate entry the runner finds beside it).
 * Commands run from the CommonJS bundle with V8's code cache and keep loaded scenarios, both in the
 * user's cache directory; the help and the version do not touch it. A local run on the model reports
 * the files that passed and did not change as cached (.blockcheck/results.json).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatedScenario } from "../bench/generated.js";
import { bundleCli } from "../scripts/bundle.js";
import { describeWithQemu } from "./support/qemu.js";

const root = path.resolve(".");
// Two levels under the root, as dist/bundle is: the CLI finds package.json (its version) at ../../.
const outdir = path.join(root, "dist", `bundle-test-${process.pid}`);
const cacheHome = mkdtempSync(path.join(os.tmpdir(), "bc-bundle-cache-"));

beforeAll(async () => {
  await bundleCli({ main: "src/cli/main.ts", worker: "src/runner/model-workers/worker.ts", launch: "src/cli/launch.ts" }, outdir);
  // bin/blockcheck.js, pointed at this bundle.
  writeFileSync(path.join(outdir, "bin.js"), readFileSync("bin/blockcheck.js", "utf8").replaceAll("../dist/bundle/", "./"));
}, 60_000);
afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
  rmSync(cacheHome, { recursive: true, force: true });
});

/** `blockcheck ARGS` through the bundle, with `cores` as the machine's parallelism when given. */
function bundled(args: string[], opts: { cwd?: string; cores?: number; env?: Record<string, string> } = {}) {
  const cores = opts.cores === undefined ? [] : ["--import", `data:text/javascript,import os from "node:os"; os.availableParallelism = () => ${opts.cores};`];
  const env = { ...process.env, CI: "", XDG_CACHE_HOME: cacheHome, ...opts.env };
  const r = spawnSync(process.execPath, [...cores, path.join(outdir, "bin.js"), ...args], { cwd: opts.cwd ?? root, encoding: "utf8", env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the bundled CLI", () => {
  it("ends quietly when the reader of its output goes away (| head -1), with SIGPIPE's status", async () => {
    const child = spawn(process.execPath, [path.join(outdir, "bin.js"), "run", "reopen/*"], {
      cwd: root,
      env: { ...process.env, CI: "", XDG_CACHE_HOME: cacheHome },
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.once("data", () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).toBe("");
    expect(code).toBe(141);
  });

  it("says its version and checks a scenario", () => {
    const version = (JSON.parse(readFileSync("package.json", "utf8")) as { version: string }).version;
    expect(bundled(["--version"]).stdout).toBe(`blockcheck ${version}\n`);
    expect(bundled(["check", "tests/scenarios/reopen/fresh.scn"])).toMatchObject({ code: 0 });
  });

  it("runs a scenario on the model", () => {
    const r = bundled(["run", "--ci", "reopen/fresh.scn"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^1 passed, 0 failed, 0 skipped \(1 runs\)/m);
    expect(r.code).toBe(0);
  });

  it("keeps its compiled code and the loaded scenarios in the user's cache, and runs the same from them", () => {
    const home = mkdtempSync(path.join(os.tmpdir(), "bc-bundle-home-"));
    try {
      const env = { XDG_CACHE_HOME: home };
      expect(bundled(["--help"], { env }).code).toBe(0);
      expect(bundled(["--version"], { env }).code).toBe(0);
      expect(readdirSync(home)).toEqual([]);
      const first = bundled(["run", "--ci", "reopen/fresh.scn", "reopen/detach-backing.scn"], { env });
      expect(first).toMatchObject({ code: 0, stderr: "" });
      const cache = path.join(home, "blockcheck");
      expect(readdirSync(cache).filter((f) => f.endsWith(".v8"))).toHaveLength(1);
      const [build] = readdirSync(path.join(cache, "scenarios"));
      expect(readdirSync(path.join(cache, "scenarios", build!))).toHaveLength(2);
      const again = bundled(["run", "--ci", "reopen/fresh.scn", "reopen/detach-backing.scn"], { env });
      expect(again).toMatchObject({ code: 0, stderr: "" });
      for (const r of [first, again]) expect(r.stdout).toMatch(/^2 passed, 0 failed, 0 skipped \(2 runs\)/m);
      // Graphviz is loaded from outside the bundle, by functions compiled from the cache too.
      for (let i = 0; i < 2; i++) {
        const svg = bundled(["graph", "tests/scenarios/reopen/fresh.scn", "--format", "svg"], { env });
        expect(svg).toMatchObject({ code: 0, stderr: "" });
        expect(svg.stdout).toMatch(/^<\?xml[^]*<svg[^]*<\/svg>\s*$/);
      }
      // Off, neither is read nor written.
      rmSync(cache, { recursive: true });
      expect(bundled(["run", "--ci", "reopen/fresh.scn"], { env: { ...env, BLOCKCHECK_CACHE: "off" } }).code).toBe(0);
      expect(readdirSync(home)).toEqual([]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("reports an unchanged corpus's model results from the last run, and runs only what changed", () => {
    withGeneratedProject((dir) => {
      const cached = bundled(["run", "-j", "2"], { cwd: dir, cores: 4 });
      expect(cached).toMatchObject({ code: 0, stderr: "" });
      expect(cached.stdout).toMatch(/^PASS s0 \(model\) \S+ \(cached\)$/m);
      expect(cached.stdout).toMatch(/^70 passed \(70 cached\), 0 failed, 0 skipped \(70 runs\) in \S+$/m);
      writeFileSync(path.join(dir, "tests/scenarios/s3.scn"), generatedScenario(3) + "# changed\n");
      const one = bundled(["run", "-j", "2"], { cwd: dir, cores: 4 });
      expect(one.stdout).toMatch(/^PASS s3 \(model\) \S+$/m);
      expect(one.stdout).toMatch(/^70 passed \(69 cached\), /m);
      // CI, and the caches turned off, run everything.
      for (const env of [{ CI: "true" }, { BLOCKCHECK_CACHE: "off" }] as Array<Record<string, string>>) {
        expect(bundled(["run", "-j", "2"], { cwd: dir, cores: 4, env }).stdout).toMatch(/^70 passed, 0 failed, 0 skipped \(70 runs\) in \S+ on 2 model threads$/m);
      }
    });
  });

  it("runs a model corpus on worker threads", () => {
    withGeneratedProject((dir) => {
      const r = bundled(["run", "--ci", "-j", "2", "-r", "json", "-o", "run.json"], { cwd: dir, cores: 4 });
      expect(r.stdout).toMatch(/^70 passed, 0 failed, 0 skipped \(70 runs\) in \S+ on 2 model threads$/m);
      expect(r.code).toBe(0);
    });
  });
});

/** `body` in a throwaway project of 70 generated scenarios whose goldens one --update run wrote. */
function withGeneratedProject(body: (dir: string) => void): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bc-bundle-"));
  try {
    writeFileSync(path.join(dir, "package.json"), '{ "name": "bundle", "private": true }\n');
    mkdirSync(path.join(dir, "tests/scenarios"), { recursive: true });
    for (let i = 0; i < 70; i++) writeFileSync(path.join(dir, "tests/scenarios", `s${i}.scn`), generatedScenario(i));
    expect(bundled(["run", "--update", "-j", "2"], { cwd: dir, cores: 4 })).toMatchObject({ code: 0 });
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describeWithQemu("the bundled CLI on QEMU", () => {
  it("runs a scenario on the qemu engine", () => {
    const r = bundled(["run", "--ci", "--engine", "qemu", "reopen/fresh.scn"]);
    expect(r.stdout).toMatch(/^1 passed, 0 failed, 0 skipped \(1 runs\)/m);
    expect(r.code).toBe(0);
  });
});
