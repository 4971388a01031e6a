/**
 * `blockcheck qmp --engine model` on bad input: NUL bytes and floats where integers belong. The
 * replies written here are qemu-storage-daemon 7.2.22's own (run by hand first); with QEMU installed
 * they are also compared with the daemon live.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { serveQmpOverStdio } from "../../src/monitor/stdio-server.js";
import { describeWithQemu } from "../support/qemu.js";
import { runQsdStdio } from "./qsd-batch.js";

const err = (desc: string) => `{"error": {"class": "GenericError", "desc": ${JSON.stringify(desc)}}}`;
const add = (args: string) => `{"execute":"blockdev-add","arguments":${args}}`;

/** [input line (after negotiation), the daemon's reply lines] */
const CASES: Array<[string, string[]]> = [
  [add('{"driver":"null-co","node-name":"a","size":1e3}'), [err("Invalid parameter type for 'size', expected: integer")]],
  [add('{"driver":"null-co","node-name":"a","size":1.0}'), [err("Invalid parameter type for 'size', expected: integer")]],
  [add('{"driver":"null-co","node-name":"a","latency-ns":1e3}'), [err("Parameter 'latency-ns' expects uint64")]],
  [add('{"driver":"throttle","node-name":"t","throttle-group":"x","file":1e3}'), [err("Invalid parameter type for 'file', expected: BlockdevRef")]],
  ['{"execute":"blockdev-add","arguments":1e3}', [err("QMP input member 'arguments' must be an object")]],
  ["1e3", [err("QMP input must be a JSON object")]],
  [
    '{"execute":"query-version","id":[-0.0, 1e3, 2.5]}',
    ['{"return": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "id": [-0, 1000, 2.5]}'],
  ],
  // QEMU prints a lexical error's token with %s: a NUL byte ends it.
  ['"ab\u0000cd"', [err("JSON parse error, stray '\"ab'")]],
  ["\u0000", [err("JSON parse error, stray ''")]],
  [
    '{"exec\u0000ute": 1}',
    [err("JSON parse error, stray '\"exec'"), err("JSON parse error, expecting value"), err("QMP input must be a JSON object"), err("JSON parse error, expecting value")],
  ],
];

/** Serve `lines` (then quit) with a fresh ModelEngine; the reply lines after the greeting and negotiation. */
async function serveModel(lines: string[]): Promise<string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), "blockcheck-bad-input-"));
  try {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let out = "";
    stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
    const engine = new ModelEngine();
    await engine.start({ workdir: dir });
    const done = serveQmpOverStdio(engine, stdin, stdout);
    stdin.end(['{"execute":"qmp_capabilities"}', ...lines, '{"execute":"quit"}', ""].join("\n"));
    await done;
    return out.split("\r\n").slice(2, -1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the model's monitor on bad input", () => {
  for (const [input, expected] of CASES) {
    it(`${JSON.stringify(input)}`, async () => {
      const replies = await serveModel([input]);
      expect(replies.slice(0, expected.length)).toEqual(expected);
      expect(replies[expected.length]).toBe('{"return": {}}'); // quit, nothing in between
    });
  }
});

describeWithQemu("the same input on qemu-storage-daemon", () => {
  it("gives the replies written above", () => {
    const real = runQsdStdio(['{"execute":"qmp_capabilities"}', ...CASES.map(([input]) => input)]).split("\r\n").slice(2);
    expect(real.slice(0, CASES.flatMap(([, r]) => r).length)).toEqual(CASES.flatMap(([, r]) => r));
  });
});
