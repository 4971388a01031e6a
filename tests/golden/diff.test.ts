import { describe, expect, it } from "vitest";
import { renderDiff, visibleWhitespace } from "../../src/golden/diff.js";

const labels = { expectedLabel: "golden/a.out", actualLabel: "actual (model)", color: false };

describe("renderDiff", () => {
  it("is empty for equal texts", () => {
    expect(renderDiff("a\n", "a\n", labels)).toBe("");
  });

  it("prints a diff -u style hunk with 3 lines of context", () => {
    const before = ["1", "2", "3", "4", "5", "6", "7", "8", "9"].join("\n") + "\n";
    const after = before.replace("5", "five");
    expect(renderDiff(before, after, labels)).toBe(
      ["--- golden/a.out", "+++ actual (model)", "@@ -2,7 +2,7 @@", " 2", " 3", " 4", "-5", "+five", " 6", " 7", " 8", ""].join("\n"),
    );
  });

  it("makes trailing blanks, tabs and a missing final newline visible", () => {
    const d = renderDiff("x\ny\n", "x \n\ty", labels);
    expect(d).toContain("+x·");
    expect(d).toContain("+→y");
    expect(d).toContain("\\ No newline at end of file");
    expect(visibleWhitespace("a \t")).toBe("a·→");
  });

  it("highlights changed words on a terminal, whitespace-only changes included", () => {
    const d = renderDiff("perm=[a]  shared=[b]\n", "perm=[a] shared=[b]\n", { ...labels, color: true });
    expect(d).toContain("\x1b[7m·\x1b[27m");
    expect(d).toMatch(/\x1b\[31m-/);
    expect(d).toMatch(/\x1b\[32m\+/);
  });
});
