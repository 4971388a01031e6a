/**
 * The bundled CLI (scripts/bundle.ts), built from the sources the way `npm run build` builds it from
 * dist/, and run as a user runs bin/blockcheck.js: its version, a check, a run on the model and on
 * QEMU, and a model run on worker threads (the worker is a separate entry the runner finds beside it).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatedScenario } from "../bench/generated.js";
import { bundleCli } from "../scripts/bundle.js";
import { describeWithQemu } from "./support/qemu.js";

const root = path.resolve(".");
// Two levels under the root, as dist/bundle is: the CLI finds package.json (its version) at ../../.
const outdir = path.join(root, "dist", `bundle-test-${process.pid}`);

beforeAll(async () => {
  await bundleCli({ main: "src/cli/main.ts", worker: "src/runner/model-workers/worker.ts" }, outdir);
  // bin/blockcheck.js, pointed at this bundle.
  writeFileSync(path.join(outdir, "bin.js"), readFileSync("bin/blockcheck.js", "utf8").replace("../dist/bundle/main.js", "./main.js"));
}, 60_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** `blockcheck ARGS` through the bundle, with `cores` as the machine's parallelism when given. */
function bundled(args: string[], opts: { cwd?: string; cores?: number } = {}) {
  const cores = opts.cores === undefined ? [] : ["--import", `data:text/javascript,import os from "node:os"; os.availableParallelism = () => ${opts.cores};`];
  const r = spawnSync(process.execPath, [...cores, path.join(outdir, "bin.js"), ...args], { cwd: opts.cwd ?? root, encoding: "utf8", env: { ...process.env, CI: "" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the bundled CLI", () => {
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

  it("runs a model corpus on worker threads", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "bc-bundle-"));
    try {
      writeFileSync(path.join(dir, "package.json"), '{ "name": "bundle", "private": true }\n');
      mkdirSync(path.join(dir, "tests/scenarios"), { recursive: true });
      for (let i = 0; i < 70; i++) writeFileSync(path.join(dir, "tests/scenarios", `s${i}.scn`), generatedScenario(i));
      expect(bundled(["run", "--update", "-j", "2"], { cwd: dir, cores: 4 })).toMatchObject({ code: 0 });
      const r = bundled(["run", "--ci", "-j", "2", "-r", "json", "-o", "run.json"], { cwd: dir, cores: 4 });
      expect(r.stdout).toMatch(/^70 passed, 0 failed, 0 skipped \(70 runs\) in \S+ on 2 model threads$/m);
      expect(r.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWithQemu("the bundled CLI on QEMU", () => {
  it("runs a scenario on the qemu engine", () => {
    const r = bundled(["run", "--ci", "--engine", "qemu", "reopen/fresh.scn"]);
    expect(r.stdout).toMatch(/^1 passed, 0 failed, 0 skipped \(1 runs\)/m);
    expect(r.code).toBe(0);
  });
});
