import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { runFlags } from "../../src/cli/commands/run-options.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "bc-config-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("configuration", () => {
  it("defaults without a file", async () => {
    expect(await loadConfig(dir)).toMatchObject({
      scenarios: path.join(dir, "tests/scenarios"),
      golden: path.join(dir, "golden"),
      engine: "model",
      timeout: 60,
      source: "defaults",
    });
  });

  it("reads blockcheck.config.json, and flags win over it", async () => {
    await writeFile(
      path.join(dir, "blockcheck.config.json"),
      JSON.stringify({ scenarios: "scn", engine: "both", jobs: 3, timeout: 5, binaries: { qsd: "/opt/qsd" } }),
    );
    const config = await loadConfig(dir);
    expect(config).toMatchObject({ scenarios: path.join(dir, "scn"), engine: "both", jobs: 3, binaries: { qsd: "/opt/qsd" } });
    expect(runFlags({}, config)).toMatchObject({ engines: ["model", "qemu"], jobs: 3, timeoutMs: 5000 });
    expect(runFlags({ engine: "qemu", jobs: "7", timeout: "1.5" }, config)).toMatchObject({
      engines: ["qemu"],
      jobs: 7,
      timeoutMs: 1500,
    });
  });

  it("reads a blockcheck key in package.json and locates its mistakes", async () => {
    await writeFile(path.join(dir, "package.json"), '{\n  "name": "x",\n  "blockcheck": {\n    "golden": "g",\n    "binaries": { "qemu-img": "x" }\n  }\n}\n');
    await expect(loadConfig(dir)).rejects.toMatchObject({
      code: "E_CONFIG",
      message: "package.json:5:19: unknown binary 'qemu-img'; binaries: qsd, qemu, img, io",
    });
  });

  it("rejects wrong types and broken JSON with file:line:col", async () => {
    const cfg = path.join(dir, "blockcheck.config.json");
    await writeFile(cfg, '{\n  "jobs": 0\n}\n');
    await expect(loadConfig(dir)).rejects.toThrow(/^blockcheck\.config\.json:2:3: 'jobs' must be a positive integer$/);
    await writeFile(cfg, '{\n  "engine": "kvm"\n}\n');
    await expect(loadConfig(dir)).rejects.toThrow(/2:3: 'engine' must be model, qemu or both/);
    await writeFile(cfg, '{\n  "jobs": 2,\n}\n');
    await expect(loadConfig(dir)).rejects.toThrow(/^blockcheck\.config\.json:3:1: invalid JSON/);
  });

  it("runs as many scenarios at once as there are cores, half as many again with QEMU", () => {
    const config = { scenarios: "", golden: "", engine: "model" as const, timeout: 60, binaries: {}, source: "" };
    const cores = os.availableParallelism();
    expect(runFlags({}, config).jobs).toBe(cores);
    expect(runFlags({ engine: "qemu" }, config).jobs).toBe(cores + Math.ceil(cores / 2));
    expect(runFlags({ engine: "both" }, config).jobs).toBe(cores + Math.ceil(cores / 2));
    expect(runFlags({ engine: "qemu" }, { ...config, jobs: 2 }).jobs).toBe(2);
  });

  it("rejects bad flag values as usage errors", () => {
    const config = { scenarios: "", golden: "", engine: "model" as const, timeout: 60, binaries: {}, source: "" };
    expect(() => runFlags({ engine: "kvm" }, config)).toThrow(/--engine must be model, qemu or both/);
    expect(() => runFlags({ jobs: "0" }, config)).toThrow(/--jobs takes a positive integer/);
    expect(() => runFlags({ shard: "0/2" }, config)).toThrow(/--shard/);
  });
});
