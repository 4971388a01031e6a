import { describe, expect, it } from "vitest";
import { QmpProtocolError } from "../../src/qmp/errors.js";
import { JsonLineDecoder, encodeMessage } from "../../src/qmp/framing.js";

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
});
