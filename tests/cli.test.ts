import { describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { PassThrough } from "node:stream";
import { main } from "../src/cli/main.js";
import { commands } from "../src/cli/commands/index.js";
import { blockcheck } from "./support/cli.js";

function io() {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = "";
  let stderr = "";
  out.on("data", (d) => (stdout += d));
  err.on("data", (d) => (stderr += d));
  return {
    io: { stdout: out, stderr: err, stdin: new PassThrough(), env: {}, cwd: process.cwd() },
    text: () => ({ stdout, stderr }),
  };
}

describe("cli", () => {
  it("lists the command table in --help", async () => {
    const t = io();
    expect(await main(["--help"], t.io)).toBe(0);
    expect(t.text().stdout).toMatch(/^  run /m);
    expect(t.text().stdout).toMatch(/^  check /m);
  });

  it("suggests a command for a typo and exits 2", async () => {
    const t = io();
    expect(await main(["chekc"], t.io)).toBe(2);
    expect(t.text().stderr).toContain("did you mean 'check'?");
  });

  it("--version prints the version in package.json", async () => {
    const { version } = JSON.parse(await readFile("package.json", "utf8")) as { version: string };
    const r = await blockcheck(["--version"]);
    expect(r).toEqual({ code: 0, stdout: `blockcheck ${version}\n`, stderr: "" });
  });

  it("suggests the option meant for a mistyped one, and exits 2", async () => {
    const r = await blockcheck(["run", "--engin", "qemu"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("blockcheck run: error: unknown option '--engin' (did you mean '--engine'?)\nRun 'blockcheck help run' for usage.\n");
    expect((await blockcheck(["graph", "x.scn", "--formt=svg"])).stderr).toContain("unknown option '--formt' (did you mean '--format'?)");
    expect((await blockcheck(["--verison"])).stderr).toContain("unknown option '--verison' (did you mean '--version'?)");
    // Nothing close: no guess, but the option is still named.
    expect((await blockcheck(["run", "--zzzzzz"])).stderr).toContain("unknown option '--zzzzzz'\n");
    expect((await blockcheck(["run", "-Z"])).stderr).toContain("unknown option '-Z'\n");
  });

  it("documents every exit code, internal errors included, in --help", async () => {
    const r = await blockcheck(["--help"]);
    expect(r.stdout).toMatch(/^exit status:\n {2}0 .*\n {2}1 .*\n {2}2 .*usage or configuration error.*\n {2}70 .*internal error/m);
    expect(r.stdout).toContain("blockcheck --help | --version");
  });

  it("lists each command under the name and summary of the module it loads", async () => {
    for (const entry of commands) {
      const cmd = await entry.load();
      const where = `src/cli/commands/index.ts lists '${entry.name}' with a name or summary its module does not have`;
      expect({ name: cmd.name, summary: cmd.summary }, where).toEqual({ name: entry.name, summary: entry.summary });
    }
  });

  it("lists --ci among run's options", async () => {
    const r = await blockcheck(["help", "run"]);
    expect(r.stdout).toMatch(/^ {6}--ci +CI mode, as with CI set/m);
  });
});
