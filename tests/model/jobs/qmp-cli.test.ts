/**
 * `blockcheck qmp --engine model` with block jobs: events a command raises come before its reply,
 * those of the work it leaves to the main loop after it, and the job runs between commands as on
 * an idle daemon — byte for byte what qemu-storage-daemon prints on a stdio monitor (timestamps
 * aside), for a sequence whose timing on QEMU is fixed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, expect, it } from "vitest";
import { main } from "../../../src/cli/main.js";
import { runQsdStdio } from "../../monitor/qsd-batch.js";
import { describeWithQemu } from "../../support/qemu.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "blockcheck-qmp-jobs-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function modelOutput(lines: string[]): Promise<string> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  let out = "";
  stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
  stdin.end([...lines, '{"execute":"quit"}', ""].join("\n"));
  const code = await main(["qmp", "--engine", "model"], { stdin, stdout, stderr: new PassThrough(), env: {}, cwd: dir });
  expect(code).toBe(0);
  return out;
}

const untimed = (s: string) => s.replace(/"seconds": \d+, "microseconds": \d+/g, '"seconds": S, "microseconds": U');

const session = [
  '{"execute":"qmp_capabilities"}',
  '{"execute":"blockdev-add","arguments":{"driver":"null-co","node-name":"n0"}}',
  '{"execute":"blockdev-add","arguments":{"driver":"null-co","node-name":"n1"}}',
  '{"execute":"blockdev-mirror","arguments":{"job-id":"m0","device":"n0","target":"n1","sync":"none"}}',
  '{"execute":"job-pause","arguments":{"id":"m0"}}',
  '{"execute":"job-resume","arguments":{"id":"m0"}}',
  '{"execute":"block-job-cancel","arguments":{"device":"m0"}}',
  '{"execute":"query-jobs"}',
];

it("puts a job's events around the replies as the daemon does", async () => {
  const out = (await modelOutput(session)).split("\r\n").map((l) => (l.startsWith("{\"timestamp\"") ? JSON.parse(l).data?.status ?? JSON.parse(l).event : l));
  expect(out.slice(1)).toEqual([
    '{"return": {}}',
    '{"return": {}}',
    '{"return": {}}',
    "created",
    "running",
    "ready",
    "BLOCK_JOB_READY",
    '{"return": {}}',
    "standby",
    '{"return": {}}',
    "ready",
    '{"return": {}}',
    '{"return": {}}',
    "waiting",
    "pending",
    "BLOCK_JOB_COMPLETED",
    "concluded",
    "null",
    '{"return": []}',
    '{"return": {}}',
    "",
  ]);
});

it("lets a commit job run to its end between two commands", async () => {
  const { writeImage } = await import("../../../src/engines/model/images/write-image.js");
  writeImage(path.join(dir, "base.qcow2"), { path: "base.qcow2", format: "qcow2", size: 1 << 20 });
  writeImage(path.join(dir, "top.qcow2"), { path: "top.qcow2", format: "qcow2", size: 1 << 20, backingFile: "base.qcow2", backingFormat: "qcow2" });
  writeImage(path.join(dir, "act.qcow2"), { path: "act.qcow2", format: "qcow2", size: 1 << 20, backingFile: "top.qcow2", backingFormat: "qcow2" });
  const out = await modelOutput([
    '{"execute":"qmp_capabilities"}',
    '{"execute":"blockdev-add","arguments":{"driver":"qcow2","node-name":"act","file":{"driver":"file","filename":"act.qcow2"}}}',
    '{"execute":"block-commit","arguments":{"job-id":"j0","device":"act","top":"top.qcow2"}}',
    '{"execute":"query-block-jobs"}',
  ]);
  const lines = out.split("\r\n");
  const reply = lines.findIndex((l) => l.includes('"status": "running"')) + 1;
  // The reply, then the whole life of the job before the next command is read.
  expect(lines.slice(reply, reply + 7).map((l) => (l.startsWith("{\"timestamp\"") ? (JSON.parse(l).data?.status ?? JSON.parse(l).event) : l))).toEqual([
    '{"return": {}}',
    "waiting",
    "pending",
    "BLOCK_JOB_COMPLETED",
    "concluded",
    "null",
    '{"return": []}',
  ]);
});

describeWithQemu("blockcheck qmp --engine model with a mirror job", () => {
  it("prints what qemu-storage-daemon prints", async () => {
    expect(untimed(await modelOutput(session))).toBe(untimed(runQsdStdio(session)));
  });
});
