import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Engine, QmpReply } from "../../src/engines/engine.js";
import { flushQmpLog, withQmpLog } from "../../src/runner/qmp-log.js";

/** Just enough of an engine for the log: qmp() answers from a table, io() echoes. */
function fakeEngine(replies: Record<string, QmpReply>): Engine {
  const engine = {
    kind: "model",
    qmp: async (command: string) => replies[command] ?? { error: { class: "CommandNotFound", desc: `The command ${command} has not been found` } },
    io: async (node: string, command: string) => `${node}: ${command}\n`,
    stop: async () => ({ exitCode: 0, signal: undefined }),
  };
  return engine as unknown as Engine;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "blockcheck-qmp-log-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the QMP log", () => {
  const graph = { return: { nodes: [{ id: 1, name: "d0", type: "block-driver-node" }], edges: [] } };

  it("writes nothing for a run whose directory is not kept", async () => {
    const file = path.join(dir, ".qmp.log");
    const e = withQmpLog(fakeEngine({ "x-debug-query-block-graph": graph }), file);
    await e.qmp("x-debug-query-block-graph");
    await e.stop();
    await expect(readFile(file, "utf8")).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("writes every command and reply, in order, when the directory is kept", async () => {
    const file = path.join(dir, ".qmp.log");
    const e = withQmpLog(fakeEngine({ "x-debug-query-block-graph": graph, "query-status": { return: { running: true } } }), file);
    await e.qmp("x-debug-query-block-graph");
    await e.qmp("blockdev-del", { "node-name": "nope" });
    await e.io!("d0", "read 0 4k");
    flushQmpLog(e);
    // After the flush the directory is kept: later lines go straight to the file.
    await e.qmp("query-status");
    await e.stop();
    expect(await readFile(file, "utf8")).toBe(
      [
        '-> {"execute":"x-debug-query-block-graph"}',
        '<- {"return":{"nodes":[{"id":1,"name":"d0","type":"block-driver-node"}],"edges":[]}}',
        '-> {"execute":"blockdev-del","arguments":{"node-name":"nope"}}',
        '<- {"error":{"class":"CommandNotFound","desc":"The command blockdev-del has not been found"}}',
        '-> io d0 "read 0 4k"',
        '<- "d0: read 0 4k\\n"',
        '-> {"execute":"query-status"}',
        '<- {"return":{"running":true}}',
        "",
      ].join("\n"),
    );
  });

  it("writes each line at once with writeThrough, and says when a command got no reply", async () => {
    const file = path.join(dir, ".qmp.log");
    const engine = fakeEngine({});
    engine.qmp = async () => {
      throw new Error("QEMU exited\nwith more");
    };
    const e = withQmpLog(engine, file, { writeThrough: true });
    await expect(e.qmp("query-status")).rejects.toThrow("QEMU exited");
    expect(await readFile(file, "utf8")).toBe('-> {"execute":"query-status"}\n<- (no reply: QEMU exited)\n');
    await e.stop();
  });
});
