import { describe, expect, it } from "vitest";
import { QmpProtocolError } from "../../src/qmp/errors.js";
import { JsonLineDecoder, encodeMessage } from "../../src/qmp/framing.js";
import { QmpFloat } from "../../src/qmp/wire.js";

describe("JsonLineDecoder", () => {
  it("splits CRLF-terminated messages across arbitrary chunk boundaries", () => {
    const d = new JsonLineDecoder();
    const text = '{"a": 1}\r\n{"b": "é"}\r\n\r\n{"c": [1]}\n';
    const bytes = Buffer.from(text, "utf8");
    const out: unknown[] = [];
    for (let i = 0; i < bytes.length; i += 3) out.push(...d.push(bytes.subarray(i, i + 3)));
    expect(out).toEqual([{ a: 1 }, { b: "é" }, { c: [1] }]);
    expect(d.pending).toBe("");
  });

  it("keeps a partial line until its end arrives", () => {
    const d = new JsonLineDecoder();
    expect(d.push('{"a"')).toEqual([]);
    expect(d.pending).toBe('{"a"');
    expect(d.push(": 2}\n")).toEqual([{ a: 2 }]);
  });

  it("rejects garbage and non-objects with a located excerpt", () => {
    expect(() => new JsonLineDecoder().push("hello\n")).toThrow(QmpProtocolError);
    expect(() => new JsonLineDecoder().push("[1,2]\n")).toThrow(/not a JSON object: "\[1,2\]"/);
  });

  it("encodes one message per line", () => {
    expect(encodeMessage({ execute: "x" })).toBe('{"execute":"x"}\n');
  });

  it("sends a whole float as a float and a bigint in full, as the monitor parsed them", () => {
    const args = { size: new QmpFloat(1000), zero: new QmpFloat(-0), big: new QmpFloat(1e300), n: 2n ** 63n - 1n, x: [1.5, undefined] };
    expect(encodeMessage({ execute: "x", arguments: args })).toBe(
      '{"execute":"x","arguments":{"size":1000.0,"zero":-0.0,"big":1e+300,"n":9223372036854775807,"x":[1.5,null]}}\n',
    );
  });

  it("sends a whole number beyond 2^53 as the integer it is, which the model gets too", () => {
    // JSON.stringify writes the shortest decimal that reads back as the double (72057594037927940),
    // another integer to QEMU's parser: QEMU and the model then answered differently. Past 64 bits
    // QEMU reads a double either way.
    const args = { a: 2 ** 56, b: -(2 ** 63), c: 2 ** 64, d: 1e300, e: 2 ** 53 - 1 };
    expect(encodeMessage({ execute: "x", arguments: args })).toBe(
      '{"execute":"x","arguments":{"a":72057594037927936,"b":-9223372036854775808,"c":18446744073709552000,"d":1e+300,"e":9007199254740991}}\n',
    );
  });
});
