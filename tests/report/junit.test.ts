import { describe, expect, it } from "vitest";
import { renderJunit } from "../../src/report/junit.js";
import { renderJson } from "../../src/report/json.js";
import { summary } from "./fixture.js";

/**
 * A minimal XML 1.0 well-formedness checker: one root, tags balanced, attributes quoted and unique,
 * entity references known, no raw `<`/`&`, no characters XML forbids. Returns element names in order.
 */
function checkXml(text: string): string[] {
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f]/.test(text)) throw new Error("forbidden control character");
  const body = text.replace(/^<\?xml[^?]*\?>\s*/, "");
  const stack: string[] = [];
  const names: string[] = [];
  let roots = 0;
  const checkText = (t: string) => {
    if (t.includes("<")) throw new Error("raw <");
    for (const m of t.matchAll(/&([^;]*);?/g)) {
      if (!/^(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+)$/.test(m[1]!) || !m[0].endsWith(";")) throw new Error(`bad entity ${m[0]}`);
    }
  };
  const re = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w:-]+\s*=\s*"[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(body))) {
    pos = re.lastIndex;
    if (m[5] !== undefined) {
      if (stack.length === 0 && m[5].trim()) throw new Error("text outside the root");
      checkText(m[5]);
      continue;
    }
    const [, close, name, attrs, selfClose] = m;
    if (close) {
      if (stack.pop() !== name) throw new Error(`mismatched </${name}>`);
      continue;
    }
    if (stack.length === 0 && ++roots > 1) throw new Error("two roots");
    const seen = new Set<string>();
    for (const a of attrs!.matchAll(/([\w:-]+)\s*=\s*"([^"]*)"/g)) {
      if (seen.has(a[1]!)) throw new Error(`duplicate attribute ${a[1]}`);
      seen.add(a[1]!);
      checkText(a[2]!);
    }
    names.push(name!);
    if (!selfClose) stack.push(name!);
  }
  if (pos !== body.length) throw new Error(`not XML at offset ${pos}: ${body.slice(pos, pos + 20)}`);
  if (stack.length) throw new Error(`unclosed <${stack.at(-1)}>`);
  return names;
}

describe("JUnit reporter", () => {
  it("writes well-formed XML with escaped names, messages and control characters", () => {
    const xml = renderJunit(summary);
    expect(checkXml(xml)).toEqual(["testsuites", "testsuite", "testcase", "skipped", "testcase", "testsuite", "testcase", "failure"]);
    expect(xml).toContain('name="perms/&lt;odd&gt; &amp; &quot;name&quot; #1 (qemu)"');
    expect(xml).toContain("\\u0001");
    expect(xml).toContain('<testsuites name="blockcheck" tests="3" failures="1" errors="0" skipped="1" time="2.345">');
  });

  it("the checker rejects malformed XML (so the test above can fail)", () => {
    expect(() => checkXml("<a><b></a>")).toThrow(/mismatched/);
    expect(() => checkXml('<a x="1 & 2"/>')).toThrow(/entity/);
    expect(() => checkXml("<a>\u0001</a>")).toThrow(/control/);
    expect(() => checkXml("<a/><b/>")).toThrow(/two roots/);
  });
});

describe("JSON reporter", () => {
  it("is the results model as JSON with an ok flag", () => {
    const data = JSON.parse(renderJson(summary));
    expect(data.ok).toBe(false);
    expect(data.results).toHaveLength(3);
    expect(data.results[0].failures[0].location).toBe("tests/scenarios/perms/odd.scn:7");
  });
});
