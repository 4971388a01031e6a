import { PassThrough, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { serveQmpOverStdio } from "../../src/monitor/stdio-server.js";
import { describeWithQemu } from "../support/qemu.js";
import { FakeEngine } from "./fake-engine.js";
import { runQsdStdio } from "./qsd-batch.js";

/** Run the server over in-memory streams with this input; resolves to everything it wrote. */
async function serve(engine: FakeEngine, input: string | (string | Buffer)[]): Promise<string> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  let text = "";
  stdout.on("data", (d: Buffer) => (text += d.toString("utf8")));
  const done = serveQmpOverStdio(engine, stdin, stdout);
  for (const chunk of typeof input === "string" ? [input] : input) stdin.write(chunk);
  stdin.end();
  await done;
  return text;
}

const lines = (text: string) => text.split("\r\n").slice(0, -1);

describe("serveQmpOverStdio", () => {
  it("greets, negotiates, echoes ids, and frames lines with CRLF like QEMU", async () => {
    const engine = new FakeEngine();
    const out = await serve(engine, '{"execute":"query-version","id":7}\n{"execute":"qmp_capabilities","id":"a"}\n{"execute":"qmp_capabilities"}\n');
    expect(lines(out)).toEqual([
      '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}',
      '{"id": 7, "error": {"class": "CommandNotFound", "desc": "Expecting capabilities negotiation with \'qmp_capabilities\'"}}',
      '{"return": {}, "id": "a"}',
      '{"error": {"class": "CommandNotFound", "desc": "Capabilities negotiation is already complete, command ignored"}}',
    ]);
    // Negotiation is emulated: the engine (already in command mode) only sees the second qmp_capabilities.
    expect(engine.calls).toEqual([["qmp_capabilities", undefined]]);
  });

  it("stops the engine at end of input, and after quit ignores the rest", async () => {
    const a = new FakeEngine();
    await serve(a, "");
    expect(a.stopped).toBe(1);
    const b = new FakeEngine();
    const out = await serve(b, '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n{"execute":"query-version"}\n');
    expect(lines(out).slice(1)).toEqual(['{"return": {}}', '{"return": {}}']);
    expect(b.calls.map((c) => c[0])).toEqual(["quit"]);
    expect(b.stopped).toBe(1);
  });

  it("stops the engine when the output fails: quietly for EPIPE, else with a typed error", async () => {
    const failing = (code: string) =>
      new Writable({
        write(_chunk, _enc, cb) {
          cb(Object.assign(new Error(`write ${code}`), { code }));
        },
      });
    for (const [code, outcome] of [["EPIPE", "resolves"], ["EIO", "rejects"]] as const) {
      const engine = new FakeEngine();
      const stdin = new PassThrough();
      const done = serveQmpOverStdio(engine, stdin, failing(code));
      stdin.write('{"execute":"qmp_capabilities"}\n');
      if (outcome === "resolves") await expect(done).resolves.toBeUndefined();
      else await expect(done).rejects.toMatchObject({ code: "E_QMP_STDIO_OUTPUT", message: "cannot write QMP output: write EIO" });
      expect(engine.stopped, code).toBe(1);
    }
  });

  it("writes events raised by a command on their own lines before its reply, and the rest at the end", async () => {
    const engine = new FakeEngine();
    const event = { data: { id: "e0" }, event: "BLOCK_EXPORT_DELETED", timestamp: { seconds: 1, microseconds: 2 } };
    const line = '{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "BLOCK_EXPORT_DELETED", "data": {"id": "e0"}}';
    engine.events.push(event);
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let text = "";
    stdout.on("data", (d: Buffer) => (text += d.toString("utf8")));
    const done = serveQmpOverStdio(engine, stdin, stdout);
    stdin.write('{"execute":"qmp_capabilities"}\n{"execute":"query-version"}\n');
    while (!text.includes('"return": {"qemu"')) await new Promise((r) => setImmediate(r));
    engine.events.push({ event: "LATE" }); // arrives after the last command, before end of input
    stdin.end();
    await done;
    expect(lines(text).slice(2)).toEqual([line, expect.stringMatching(/^\{"return"/), '{"event": "LATE"}']);
  });

  it("reassembles requests split across chunks and handles several per line", async () => {
    const engine = new FakeEngine();
    const out = await serve(engine, [Buffer.from('{"execute":"qmp_capa'), Buffer.from('bilities"} {"execute":"query-version","id":1}\n')]);
    expect(lines(out).slice(1)).toEqual([
      '{"return": {}}',
      '{"return": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "id": 1}',
    ]);
  });

  it("gives QEMU's replies to malformed input", async () => {
    const engine = new FakeEngine();
    const out = await serve(engine, ['{"execute":"qmp_capabilities"}\n', "{bad json}\n", "[1,2]\n", '{"execute":1}\n', "ABC\n", '{"a":1,}\n']);
    expect(lines(out).slice(2)).toEqual([
      '{"error": {"class": "GenericError", "desc": "JSON parse error, invalid keyword \'bad\'"}}',
      '{"error": {"class": "GenericError", "desc": "QMP input must be a JSON object"}}',
      '{"error": {"class": "GenericError", "desc": "QMP input member \'execute\' must be a string"}}',
      '{"error": {"class": "GenericError", "desc": "JSON parse error, stray \'A\'"}}',
      '{"error": {"class": "GenericError", "desc": "JSON parse error, expecting value"}}',
    ]);
  });

  it("handles out-of-band requests as QEMU does once 'oob' is enabled", async () => {
    // Recorded from qemu-storage-daemon 7.2.22 one request at a time: QEMU runs out-of-band requests
    // in its I/O thread, so in a batch their replies may overtake earlier ones; ours never do.
    const input = [
      '{"exec-oob":"qmp_capabilities","arguments":{"enable":["oob"]}}',
      '{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}',
      '{"exec-oob":"query-version","id":1}',
      '{"exec-oob":"nosuch","id":2}',
      '{"execute":"query-version","exec-oob":"query-version"}',
      '{"exec-oob":1}',
    ];
    const out = await serve(new FakeEngine(), input.join("\n") + "\n");
    expect(lines(out).slice(1)).toEqual([
      '{"error": {"class": "GenericError", "desc": "QMP input member \'exec-oob\' is unexpected"}}',
      '{"return": {}}',
      '{"id": 1, "error": {"class": "GenericError", "desc": "The command query-version does not support OOB"}}',
      '{"id": 2, "error": {"class": "CommandNotFound", "desc": "The command nosuch has not been found"}}',
      '{"error": {"class": "GenericError", "desc": "QMP input member \'execute\' clashes with \'exec-oob\'"}}',
      '{"error": {"class": "GenericError", "desc": "QMP input member \'exec-oob\' must be a string"}}',
    ]);
  });

  it("lexes like QEMU: no exponent after a lone 0, and recovery stops at structural characters", async () => {
    const out = await serve(new FakeEngine(), '{"execute":"qmp_capabilities"}\n0e1\n+,{"execute":"query-version","id":3}\n');
    expect(lines(out).slice(2)).toEqual([
      '{"error": {"class": "GenericError", "desc": "QMP input must be a JSON object"}}',
      '{"error": {"class": "GenericError", "desc": "JSON parse error, invalid keyword \'e\'"}}',
      '{"error": {"class": "GenericError", "desc": "QMP input must be a JSON object"}}',
      '{"error": {"class": "GenericError", "desc": "JSON parse error, stray \'+\'"}}',
      '{"error": {"class": "GenericError", "desc": "JSON parse error, expecting value"}}',
      '{"return": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "id": 3}',
    ]);
  });
});

/**
 * Inputs where framing, parsing, request checks or output formatting could differ from QEMU. Each
 * is sent after negotiation; the daemon's raw bytes must equal the server's.
 */
const tricky = [
  '{"execute":"query-version","id":7}',
  "{bad json}",
  '{"execute":"query-version",}',
  "}",
  "[1,2]",
  '"str"',
  "1",
  "true",
  "xyz",
  "ABC",
  "%",
  '{"execute":1}',
  '{"foo":1}',
  '{"execute":"query-version","foo":1,"bar":2}',
  '{"arguments":{}}',
  '{"execute":"query-version","exec-oob":"x"}',
  '{"execute":"query-version","id":1,"arguments":[]}',
  '{"execute":"query-version"} {"execute":"query-version","id":[]}',
  "",
  "   ",
  "{'execute':'query-version','id':'sq\\'x'}",
  '{"execute":"query-version","id":1.5}',
  '{"execute":"query-version","id":0.1}',
  '{"execute":"query-version","id":1e300}',
  '{"execute":"query-version","id":-0}',
  '{"execute":"query-version","id":12345678901234567890}',
  '{"execute":"query-version","id":-9223372036854775808}',
  '{"execute":"query-version","id":123456789012345678901234}',
  '{"execute":"query-version","id":"\\u00e9/\\t\\u0001\\ud83d\\ude00 \u00fc"}',
  '{"execute":"query-version","id":"\\ud800"}',
  '{"execute":"query-version","id":"\\x"}',
  '{"execute":"query-version","id":01}',
  '{"execute":"query-version","id":1.}',
  '{"execute":"query-version","id":{"b":[],"a":{}}}',
  '{"execute":"query-version","id":1,"id":2}',
  '{"execute":"query-version" "id":1}',
  '{"execute":"nosuch","id":null}',
  '{"execute":"query-version","arguments":{"x":1}}',
  '[}',
  '{"execute":"query-version","id":"tab\there"}',
  '{"execute":"query-version"}}',
];

describeWithQemu("stdio server against qemu-storage-daemon", () => {
  it("prints the same bytes for tricky input", async () => {
    const input = ['{"execute":"qmp_capabilities"}', ...tricky];
    const real = runQsdStdio(input);
    const greeting = JSON.parse(real.split("\r\n")[0]!) as Record<string, unknown>;
    const mine = await serve(new FakeEngine(greeting), [...input, '{"execute":"quit"}', ""].join("\n"));
    expect(lines(mine)).toEqual(lines(real));
  });

  it("frames and parses random byte soup exactly as QEMU does", async () => {
    // Fragments that stress the lexer's states and its error recovery; each case ends with a byte
    // 0xFF, which resets QEMU's streamer, so one case cannot swallow the next.
    const atoms = ["{", "}", "[", "]", ":", ",", '"', "'", "\\", "a", "z", "true", "null", "nul", "0", "1", "-", ".", "e", "+", " ", "\t", "\n",
      '"execute"', '"query-version"', '"id"', '"arguments"', '{"execute":"query-version"}', "\\u00e9", "\\ud800", "\\u12", "é", "A", "%",
      "\x01", "\r", "1.5e3", "01", "-0", '"x"', "\xc3"];
    let seed = 20261128;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const chunks = [Buffer.from('{"execute":"qmp_capabilities"}\n')];
    for (let i = 0; i < 300; i++) {
      const n = 1 + Math.floor(rnd() * 12);
      let text = "";
      for (let j = 0; j < n; j++) text += atoms[Math.floor(rnd() * atoms.length)];
      chunks.push(Buffer.from(text, "utf8"), Buffer.from("\n\xff\n", "latin1"));
    }
    const input = Buffer.concat(chunks);
    const real = runQsdStdio([input.toString("latin1")], { latin1: true });
    const greeting = JSON.parse(real.split("\r\n")[0]!) as Record<string, unknown>;
    const mine = await serve(new FakeEngine(greeting), [input, Buffer.from('\n{"execute":"quit"}\n')]);
    expect(lines(mine)).toEqual(lines(real));
  });

  it("swallows the lines after an unclosed brace, as QEMU does", async () => {
    const input = ['{"execute":"qmp_capabilities"}', '{"execute":"query-version"', '{"execute":"query-version","id":2}', "}"];
    const real = runQsdStdio(input);
    const greeting = JSON.parse(real.split("\r\n")[0]!) as Record<string, unknown>;
    const mine = await serve(new FakeEngine(greeting), [...input, '{"execute":"quit"}', ""].join("\n"));
    expect(lines(mine)).toEqual(lines(real));
  });
});
