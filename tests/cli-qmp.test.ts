import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import { describeWithQemu } from "./support/qemu.js";
import { runQsdStdio } from "./monitor/qsd-batch.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "blockcheck-cli-qmp-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Run `blockcheck ARGV` with this stdin; the exit code and what it printed. */
async function run(argv: string[], input: string) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
  stderr.on("data", (d: Buffer) => (err += d.toString("utf8")));
  stdin.end(input);
  const code = await main(argv, { stdin, stdout, stderr, env: {}, cwd: dir });
  return { code, out, err };
}

/** The example from the command's documentation. */
const example = [
  '{"execute":"qmp_capabilities"}',
  '{"execute":"blockdev-add","arguments":{"driver":"null-co","node-name":"n0"}}',
  '{"execute":"x-debug-query-block-graph"}',
];

describe("blockcheck qmp", () => {
  it("serves the model engine by default", async () => {
    const { code, out, err } = await run(["qmp"], example.join("\n") + "\n");
    expect(err).toBe("");
    expect(code).toBe(0);
    const lines = out.split("\r\n");
    expect(lines).toHaveLength(5); // greeting, three replies, and the empty rest after the last CRLF
    expect(JSON.parse(lines[0]!)).toMatchObject({ QMP: { version: { qemu: { major: 7, minor: 2 } } } });
    expect(lines[1]).toBe('{"return": {}}');
    expect(lines[2]).toBe('{"return": {}}');
    expect(lines[3]).toBe('{"return": {"edges": [], "nodes": [{"name": "n0", "type": "block-driver", "id": 1}]}}');
  });

  it("rejects an unknown engine with a suggestion and exit code 2", async () => {
    const { code, err } = await run(["qmp", "--engine", "qemuu"], "");
    expect(code).toBe(2);
    expect(err).toContain("unknown engine 'qemuu' (did you mean 'qemu'?)");
  });

  it("rejects a work directory that does not exist", async () => {
    const { code, err } = await run(["qmp", "--workdir", "nosuch"], "");
    expect(code).toBe(2);
    expect(err).toContain("--workdir: 'nosuch' is not a directory");
  });
});

describeWithQemu("blockcheck qmp --engine model against qemu-storage-daemon", () => {
  it("prints the same bytes as the real daemon for the documented example", async () => {
    const real = runQsdStdio(example);
    const mine = await run(["qmp", "--engine", "model"], example.join("\n") + "\n");
    // The daemon also answers the trailing quit that runQsdStdio sends; the model session ends at EOF.
    const realLines = real.split("\r\n").slice(0, example.length + 1);
    expect(mine.out.split("\r\n").slice(0, example.length + 1)).toEqual(realLines);
  });

  it("serves real QEMU with --engine qemu", async () => {
    const mine = await run(["qmp", "--engine", "qemu"], example.join("\n") + "\n");
    expect(mine.err).toBe("");
    expect(mine.code).toBe(0);
    expect(mine.out.split("\r\n").slice(0, 4)).toEqual(runQsdStdio(example).split("\r\n").slice(0, 4));
  });
});
