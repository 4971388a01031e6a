import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { QmpJsonStreamer, type StreamedMessage } from "../../src/monitor/json-lexer.js";
import { parseTokens } from "../../src/monitor/json-parser.js";

/** What the streamer makes of `input` fed in pieces cut at `cuts`: each message parsed, or its error. */
function stream(input: Buffer, cuts: number[] = []): unknown[] {
  const out: unknown[] = [];
  const s = new QmpJsonStreamer((m: StreamedMessage) => out.push("error" in m ? { error: m.error } : parseTokens(m.tokens)));
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < input.length)].sort((a, b) => a - b)) {
    s.feed(input.subarray(at, cut));
    at = cut;
  }
  s.feed(input.subarray(at));
  return out;
}

describe("the monitor's JSON streamer", () => {
  const input = Buffer.from(
    '{"execute": "blockdev-add", "arguments": {"driver": "file", "filename": "a\\u00e9\\"b' +
      "é".repeat(50) +
      '", "size": -12.5e3, "n": 123456789012345678901}}\n' +
      "+x, ]\n{'a': 'b\\'c'} 0e1 nul\n\u00ff [1, 2]",
    "utf8",
  );

  it("gives the same messages however its input is cut", () => {
    const whole = stream(input);
    expect(whole.length).toBeGreaterThan(4);
    // Every single cut, then random sets of cuts (as stdin hands over chunks).
    for (let cut = 1; cut < input.length; cut++) expect(stream(input, [cut])).toEqual(whole);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: input.length - 1 }), { maxLength: 40 }), (cuts) => {
        expect(stream(input, cuts)).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });

  it("does not keep references to the caller's buffers", () => {
    const out: StreamedMessage[] = [];
    const s = new QmpJsonStreamer((m) => out.push(m));
    const chunk = Buffer.from('{"a": "xy');
    s.feed(chunk);
    chunk.fill(0x20); // a reader may reuse its buffer
    s.feed(Buffer.from('z"}'));
    expect(out).toHaveLength(1);
    expect("tokens" in out[0]! && parseTokens(out[0].tokens)).toEqual({ value: { a: "xyz" } });
  });

  it("a NUL byte ends the stray text of the error, as QEMU's %s does", () => {
    const errors = stream(Buffer.from('"ab\u0000cd"\n\u0000\n', "utf8")).filter((m) => (m as { error?: string }).error?.includes("stray"));
    expect(errors).toEqual([{ error: "JSON parse error, stray '\"ab'" }, { error: "JSON parse error, stray ''" }]);
  });
});
