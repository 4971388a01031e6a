/** A size with a unit the language does not know (`1m`, `64KiB`) gets a note saying what was meant. */
import { describe, expect, it } from "vitest";
import { loadScenario } from "../../src/language/index.js";
import { sizeCorrection } from "../../src/language/size-hint.js";

function notes(text: string): Array<[string, string[]]> {
  return loadScenario(text, "t.scn").diagnostics.map((d) => [`${d.location.start.line}:${d.location.start.column} ${d.message}`, d.notes]);
}

const NOTE = (fixed: string) => `did you mean '${fixed}'? a size takes k, M, G or T (powers of 1024)`;

describe("sizes written with an unknown unit", () => {
  it("are corrected to the unit meant", () => {
    expect(["1m", "1g", "2t", "64kb", "64KB", "64KiB", "1MiB", "1mb", "1GB"].map(sizeCorrection)).toEqual([
      "1M",
      "1G",
      "2T",
      "64k",
      "64k",
      "64k",
      "1M",
      "1M",
      "1G",
    ]);
    expect(["1M", "64k", "512", "1x", "m1", "fast"].map(sizeCorrection)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
  });

  it("get the note on an image's size, which must be a number", () => {
    expect(notes("image a.qcow2 qcow2 1m")).toEqual([["1:21 unexpected '1m'", ["expected number", NOTE("1M")]]]);
  });

  it("are an error in an integer option of add and reopen, unless the step is written to fail", () => {
    expect(notes("add n0: null-co size=64KiB\nreopen n0 size=1g")).toEqual([
      ["1:22 '64KiB' is not a size", [NOTE("64k")]],
      ["2:16 '1g' is not a size", [NOTE("1G")]],
    ]);
    expect(notes('add n0: null-co size=1m -> error "Invalid parameter type for \'size\', expected: integer"')).toEqual([]);
    // Not an integer option: a string that happens to look like a size is left alone.
    expect(notes("add f: file filename=1m")).toEqual([]);
  });

  it("get the note in expect node too", () => {
    expect(notes("add n0: null-co\nexpect node n0 image.virtual-size=1m")).toEqual([
      ["2:35 'image.virtual-size' is a number", [NOTE("1M")]],
    ]);
  });
});
