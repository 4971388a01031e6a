/**
 * npm's prepare script (scripts/prepare.ts): it builds the tree, except when `npx blockcheck`
 * installs the already built checkout into npm's exec cache, where the build only cost the first
 * run 20 seconds.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { prepareBuilds } from "../scripts/prepare.js";

const root = path.join(import.meta.dirname, "..");
const tsx = path.join(root, "node_modules/tsx/dist/cli.mjs");

/** Run scripts/prepare.ts as npm would, with `npmCommand` and an npm that records what it was asked. */
function prepare(npmCommand: string): string[] | undefined {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bc-prepare-"));
  try {
    const fakeNpm = path.join(dir, "npm-cli.js");
    const asked = path.join(dir, "asked.json");
    writeFileSync(fakeNpm, `require("node:fs").writeFileSync(${JSON.stringify(asked)}, JSON.stringify(process.argv.slice(2)));\n`);
    execFileSync(process.execPath, [tsx, "scripts/prepare.ts"], { cwd: root, env: { ...process.env, npm_command: npmCommand, npm_execpath: fakeNpm }, stdio: "pipe" });
    try {
      return JSON.parse(readFileSync(asked, "utf8")) as string[];
    } catch {
      return undefined;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("npm's prepare script", () => {
  it("is the one package.json runs", () => {
    const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts["prepare"]).toBe("tsx scripts/prepare.ts");
  });

  it("builds for npm ci and install, and for npm exec when there is no bundle yet", () => {
    expect(prepareBuilds({ npm_command: "ci" }, true)).toBe(true);
    expect(prepareBuilds({ npm_command: "install" }, true)).toBe(true);
    expect(prepareBuilds({}, true)).toBe(true);
    expect(prepareBuilds({ npm_command: "exec" }, false)).toBe(true);
  });

  it("runs `npm run build` with the npm that runs it", () => {
    expect(prepare("ci")).toEqual(["run", "build"]);
  });

  it("leaves the build out when npm exec installs a built checkout", () => {
    expect(prepareBuilds({ npm_command: "exec" }, true)).toBe(false);
    // The tests run on a built tree (npm ci built it).
    statSync(path.join(root, "dist/bundle/cli.cjs"));
    expect(prepare("exec")).toBeUndefined();
  });
});
