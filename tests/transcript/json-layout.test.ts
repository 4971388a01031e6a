/** Reply JSON in transcripts: QEMU's member order, one line while it fits, else one member per line. */
import { describe, expect, it } from "vitest";
import { compactJson, layoutJson, LINE_WIDTH, mapStrings } from "../../src/transcript/json-layout.js";

describe("layoutJson", () => {
  it("keeps a value that fits on one line, with QEMU-style separators and the members in the order given", () => {
    expect(layoutJson({ b: 1, a: [true, null, "x"] }, 8)).toBe('{"b": 1, "a": [true, null, "x"]}');
    expect(compactJson({ z: {}, y: [] })).toBe('{"z": {}, "y": []}');
  });

  it("breaks a value that does not fit: one member per line, two spaces deeper, members that fit kept whole", () => {
    const reply = [{ "node-name": "top", cache: { writeback: true, direct: false }, file: "x".repeat(90) }];
    expect(layoutJson(reply, 8)).toBe(
      [
        "[",
        "  {",
        '    "node-name": "top",',
        '    "cache": {"writeback": true, "direct": false},',
        `    "file": "${"x".repeat(90)}"`,
        "  }",
        "]",
      ].join("\n"),
    );
  });

  it("counts what precedes the value on its line, and the comma after it", () => {
    const fits = { k: "y".repeat(60) };
    const room = LINE_WIDTH - compactJson(fits).length;
    expect(layoutJson(fits, room)).not.toContain("\n");
    expect(layoutJson(fits, room + 1)).toContain("\n");
    // A member's line: two spaces, `"first": `, the value, and a comma unless it is the last.
    const inner = { a: "z".repeat(LINE_WIDTH - 2 - '"first": '.length - '{"a": ""}'.length) };
    expect(layoutJson({ first: inner }, LINE_WIDTH).split("\n")[1]).toBe(`  "first": ${compactJson(inner)}`);
    expect(layoutJson({ first: inner, second: 1 }, LINE_WIDTH).split("\n")[1]).toBe(`  "first": {`);
  });

  it("never breaks empty objects and lists, and escapes strings as JSON does", () => {
    expect(layoutJson({ a: {}, b: [], c: 'q"\n' }, LINE_WIDTH)).toBe('{\n  "a": {},\n  "b": [],\n  "c": "q\\"\\n"\n}');
  });
});

describe("mapStrings", () => {
  it("maps every string, keys and order kept, other values untouched", () => {
    expect(JSON.stringify(mapStrings({ b: "/s/x", a: ["/s/y", 1, null, { c: false }] }, (s) => s.replace("/s", "$TEST_DIR")))).toBe(
      '{"b":"$TEST_DIR/x","a":["$TEST_DIR/y",1,null,{"c":false}]}',
    );
  });
});
