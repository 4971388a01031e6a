/** Mistakes in blockcheck.config.json, as `blockcheck run` reports them: file:line:col, exit 2. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { blockcheck } from "../support/cli.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "bc-config-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function runWith(config: string) {
  await writeFile(path.join(dir, "blockcheck.config.json"), config);
  return blockcheck(["run"], { cwd: dir });
}

describe("configuration errors", () => {
  it("point at the key itself, not at an earlier key of the same name inside another object", async () => {
    const r = await runWith('{\n  "binaries": { "qemu": "/opt/qemu" },\n  "qemu": "x"\n}\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "blockcheck run: error: blockcheck.config.json:3:3: unknown configuration key 'qemu'; keys: scenarios, golden, engine, jobs, timeout, binaries\n",
    );
  });

  it("point at a nested key", async () => {
    const r = await runWith('{\n  "timeout": 5,\n  "binaries": {\n    "qsd": "q",\n    "img": 7\n  }\n}\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("blockcheck.config.json:5:5: binary 'img' must be a program name or path");
  });

  it("give syntax errors where they are, in words that do not depend on the Node version", async () => {
    expect((await runWith('{\n  // fast\n  "jobs": 2\n}\n')).stderr).toContain("blockcheck.config.json:2:3: invalid JSON: comments are not allowed in JSON");
    expect((await runWith('{\n  "jobs": 2\n  "timeout": 3\n}\n')).stderr).toContain("blockcheck.config.json:3:3: invalid JSON: expected ','");
    expect((await runWith('{ "engine": "model"')).stderr).toContain("blockcheck.config.json:1:20: invalid JSON: expected '}'");
  });
});
