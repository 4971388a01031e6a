import { describe, expect, it } from "vitest";
import { formatDiagnostic, loadScenario } from "../../src/language/index.js";

function render(text: string): string {
  return loadScenario(text, "tests/x.scn")
    .diagnostics.map((d) => formatDiagnostic(d, text))
    .join("");
}

describe("diagnostic layout", () => {
  it("unknown driver: location, source line, carets under the token, did-you-mean", () => {
    const text = 'scenario "t"\nadd f0: null-co\nadd top: qcw2 file=f0\n';
    expect(render(text)).toBe(
      [
        "tests/x.scn:3:10: error: unknown driver 'qcw2'",
        "  3 | add top: qcw2 file=f0",
        "    |          ^^^^",
        "    = note: did you mean 'qcow2'?",
        "",
      ].join("\n"),
    );
  });

  it("syntax error: the unexpected token and what was expected", () => {
    expect(render("del top extra\n")).toBe(
      [
        "tests/x.scn:1:9: error: unexpected 'extra'",
        "  1 | del top extra",
        "    |         ^^^^^",
        "    = note: expected expectation (-> ok, -> error …) or end of line",
        "",
      ].join("\n"),
    );
  });

  it("unknown command with a did-you-mean", () => {
    expect(render("add top: null-co\nreopn top read-only=on\n")).toBe(
      [
        "tests/x.scn:2:1: error: unknown command 'reopn'",
        "  2 | reopn top read-only=on",
        "    | ^^^^^",
        "    = note: did you mean 'reopen'?",
        "",
      ].join("\n"),
    );
  });

  it("widens the gutter for long line numbers and keeps carets aligned", () => {
    const text = "\n".repeat(9) + "add n: null-co siez=1M\n";
    expect(render(text)).toBe(
      [
        "tests/x.scn:10:16: error: unknown option 'siez' for driver 'null-co'",
        "  10 | add n: null-co siez=1M",
        "     |                ^^^^",
        "     = note: did you mean 'size'?",
        "",
      ].join("\n"),
    );
  });

  it("tabs in the source line become spaces so carets line up", () => {
    const text = "add\tn: null-co\tsiez=1M\n";
    const out = render(text).split("\n");
    expect(out[1]).toBe("  1 | add n: null-co siez=1M");
    expect(out[2]).toBe("    |                ^^^^");
  });

  it("a token at the end of the file gets one caret after it", () => {
    const out = render("expect ro").split("\n");
    expect(out[0]).toBe("tests/x.scn:1:10: error: unexpected end of line");
    expect(out[2]).toBe("    |          ^");
  });

  it("an unused expectation points at the arrow", () => {
    expect(render('show graph -> error "x"\n')).toBe(
      [
        "tests/x.scn:1:12: error: an expectation cannot apply to 'show'",
        "  1 | show graph -> error \"x\"",
        "    |            ^^^^^^^^^^^^",
        "",
      ].join("\n"),
    );
  });
});
