import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { tapReporter } from "../../src/report/tap.js";
import type { ScenarioResult } from "../../src/runner/results.js";
import { failed, passed, sink, skipped, summary } from "./fixture.js";

/**
 * A strict TAP 13 checker: version line first, test points numbered 1..n in order, each YAML block
 * directly after a `not ok` and closed by `...`, a plan matching the count, nothing else but comments.
 */
function checkTap13(text: string): { ok: number; notOk: number; skip: number } {
  const lines = text.replace(/\n$/, "").split("\n");
  if (lines[0] !== "TAP version 13") throw new Error("first line must be 'TAP version 13'");
  let n = 0;
  let plan: number | undefined;
  const counts = { ok: 0, notOk: 0, skip: 0 };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const point = /^(not ok|ok) (\d+) - ((?:[^#\\]|\\.)*)(?: # (SKIP|TODO)\b.*)?$/.exec(line);
    if (point) {
      if (plan !== undefined) throw new Error(`test point after the plan: ${line}`);
      if (Number(point[2]) !== ++n) throw new Error(`test point ${point[2]} out of order`);
      if (point[4] === "SKIP") counts.skip++;
      else if (point[1] === "ok") counts.ok++;
      else counts.notOk++;
      if (lines[i + 1] === "  ---") {
        if (point[1] !== "not ok") throw new Error("YAML block after a passing test");
        const end = lines.indexOf("  ...", i + 2);
        if (end < 0) throw new Error("unterminated YAML block");
        for (const y of lines.slice(i + 2, end)) if (!y.startsWith("  ")) throw new Error(`YAML line not indented: ${y}`);
        i = end;
      }
    } else if (/^1\.\.\d+$/.test(line)) {
      if (plan !== undefined) throw new Error("two plans");
      plan = Number(line.slice(3));
    } else if (!line.startsWith("#")) {
      throw new Error(`not TAP: ${line}`);
    }
  }
  if (plan !== n) throw new Error(`plan ${plan} but ${n} test points`);
  return counts;
}

describe("TAP reporter", () => {
  it("writes valid TAP 13 with escaped descriptions, skips and YAML diagnostics", () => {
    const out = sink();
    const r = tapReporter({ out, isTTY: false, color: false, columns: 80, now: () => 0, previousTimes: new Map() });
    r.onRunStart!({ total: 3, engines: ["model", "qemu"], jobs: 1 });
    for (const res of [passed, failed, skipped]) r.onScenarioEnd!(res);
    r.onRunEnd!(summary);
    expect(checkTap13(out.text)).toEqual({ ok: 1, notOk: 1, skip: 1 });
    expect(out.text).toContain('not ok 2 - perms/<odd> & "name" \\#1 (qemu)\n');
    expect(out.text).toContain("ok 3 - io/write (model) # SKIP requires io; the model engine has no qemu-io\n");
    expect(out.text).toContain("        -x\n        +y\n");
  });

  it("writes YAML blocks that read back as exactly the failure, however hostile its text", () => {
    const hostile: ScenarioResult = {
      ...failed,
      failures: [
        {
          kind: "golden",
          message: "- looks: like YAML # but is not",
          details: "  starts with spaces\n\tthen a tab\n\nand a blank line, trailing space \n",
          diff: "\x1b[31m-  n1  null-co  ro\x1b[0m\n\x1b[32m+  n1  null-co  rw\x1b[0m\n",
        },
        { kind: "expectation", message: "control \u0001 and quote \" and colon: here", source: "'single' \"double\"" },
      ],
    };
    const out = sink();
    const r = tapReporter({ out, isTTY: false, color: false, columns: 80, now: () => 0, previousTimes: new Map() });
    r.onRunStart!({ total: 1, engines: ["qemu"], jobs: 1 });
    r.onScenarioEnd!(hostile);
    r.onRunEnd!({ ...summary, results: [hostile] });
    expect(checkTap13(out.text)).toEqual({ ok: 0, notOk: 1, skip: 0 });
    const block = out.text.split("\n  ---\n")[1]!.split("\n  ...\n")[0]!;
    const doc = parse(block.replace(/^ {2}/gm, ""));
    expect(doc.failures).toEqual([
      {
        kind: "golden",
        message: "- looks: like YAML # but is not",
        details: "  starts with spaces\n\tthen a tab\n\nand a blank line, trailing space \n",
        diff: "-  n1  null-co  ro\n+  n1  null-co  rw\n",
      },
      { kind: "expectation", message: "control \u0001 and quote \" and colon: here", source: "'single' \"double\"" },
    ]);
    expect(doc).toMatchObject({ message: "- looks: like YAML # but is not", severity: "fail", file: hostile.file });
  });

  it("the checker rejects broken TAP (so the test above can fail)", () => {
    expect(() => checkTap13("TAP version 13\nok 2 - a\n1..1\n")).toThrow(/out of order/);
    expect(() => checkTap13("TAP version 13\nok 1 - a\n1..2\n")).toThrow(/plan/);
    expect(() => checkTap13("ok 1 - a\n1..1\n")).toThrow(/first line/);
  });
});

describe("reporter registry", () => {
  it("looks reporters up by name and suggests one for a typo", async () => {
    const { createReporter, reporterNames } = await import("../../src/report/registry.js");
    expect(reporterNames).toEqual(["console", "tap", "junit", "json"]);
    const ctx = { out: sink(), isTTY: false, color: false, columns: 80, now: () => 0, previousTimes: new Map() };
    expect(() => createReporter("jnuit", ctx)).toThrow("unknown reporter 'jnuit' (did you mean 'junit'?); reporters: console, tap, junit, json");
  });
});
