import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { serveQmpOverStdio } from "../../src/monitor/stdio-server.js";
import { describeWithQemu } from "../support/qemu.js";
import { runQsdStdio } from "./qsd-batch.js";

/** A session that does not depend on auto node names or image paths, so the bytes must match. */
const session = [
  '{"execute":"query-named-block-nodes","id":"early"}',
  '{"execute":"qmp_capabilities","id":1}',
  '{"execute":"blockdev-add","arguments":{"driver":"nosuchdrv","node-name":"x"}}',
  '{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"r0"},"id":2}',
  '{"execute":"blockdev-add","arguments":{"driver":"null-co","node-name":"n0","zzz":1,"aaa":2}}',
  '{"execute":"blockdev-add","arguments":{"driver":"null-co","node-name":"n0"}}',
  '{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"r0","file":"n0"}}',
  '{"execute":"blockdev-reopen","arguments":{"options":[{"driver":"raw","node-name":"r0"}]}}',
  '{"execute":"x-debug-query-block-graph"}',
  '{"execute":"blockdev-del","arguments":{"node-name":"n0"}}',
  '{"execute":"blockdev-del","arguments":{"node-name":"r0"}}',
  '{"execute":"query-named-block-nodes","arguments":{"flat":true}}',
  "{bad json}",
  '{"execute":"nosuch","id":{"b":1,"a":[true,null]}}',
];

/** An export's life: its deletion event comes before block-export-del's reply when no client is connected. */
const exportSession = [
  '{"execute":"qmp_capabilities"}',
  '{"execute":"blockdev-add","arguments":{"driver":"null-co","node-name":"n0"}}',
  '{"execute":"nbd-server-start","arguments":{"addr":{"type":"unix","data":{"path":"nbd.sock"}}}}',
  '{"execute":"block-export-add","arguments":{"type":"nbd","id":"e0","node-name":"n0"}}',
  '{"execute":"blockdev-del","arguments":{"node-name":"n0"}}',
  '{"execute":"block-export-del","arguments":{"id":"e0"}}',
  '{"execute":"blockdev-del","arguments":{"node-name":"n0"}}',
];

/** Serve `input` (then quit) with a fresh ModelEngine in a private directory; the raw output. */
async function serveModel(input: string[]): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), "blockcheck-stdio-model-"));
  try {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let out = "";
    stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
    const engine = new ModelEngine();
    await engine.start({ workdir: dir });
    const done = serveQmpOverStdio(engine, stdin, stdout);
    stdin.end([...input, '{"execute":"quit"}', ""].join("\n"));
    await done;
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const withoutTimestamps = (text: string) =>
  text.replace(/"seconds": \d+, "microseconds": \d+/g, '"seconds": S, "microseconds": U').split("\r\n");

describeWithQemu("stdio server with the model engine against qemu-storage-daemon", () => {
  it("prints the same bytes for a whole session", async () => {
    expect((await serveModel(session)).split("\r\n")).toEqual(runQsdStdio(session).split("\r\n"));
  });

  it("puts events where QEMU does (timestamps aside)", async () => {
    expect(withoutTimestamps(await serveModel(exportSession))).toEqual(withoutTimestamps(runQsdStdio(exportSession)));
  });
});
