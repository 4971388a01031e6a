import { describe, expect, it } from "vitest";
import { PassThrough } from "node:stream";
import { main } from "../src/cli/main.js";

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
});
