import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.js";
import type { Location, Scenario, Value } from "../../src/language/ast.js";
import { COMMANDS, expandParameters, MAX_NESTING, parseScenario } from "../../src/language/index.js";
import { parseRaw } from "../../src/language/peggy-parser.js";
import { parameters } from "../../src/language/rules/parameters.js";
import { qapiSchema } from "../../src/language/schema.js";
import { inlineChildren } from "../../src/language/walk.js";
import { loadScenarioFile } from "../../src/runner/load.js";
import { fakeIo } from "./helpers.js";

function inDir(files: Record<string, string | Uint8Array>, body: (dir: string) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), "blockcheck-big-"));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return body(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/**
 * `add a: raw file=(` on line 2, then one more `raw file=(` per line, `depth` brackets in all, then
 * `del nosuch` (a second problem, after the deep statement).
 */
function deepFile(depth: number): string {
  const lines = ['scenario "deep"', "add a: raw file=("];
  for (let i = 1; i < depth; i++) lines.push("  raw file=(");
  lines.push("  null-co", ")".repeat(depth), "del nosuch", "");
  return lines.join("\n");
}

describe("brackets nested past the limit", () => {
  for (const depth of [900, 2_999]) {
    it(`${depth} inline children: check reports the line of the bracket past the limit, and goes on`, async () => {
      await inDir({ "deep.scn": deepFile(depth) }, async (dir) => {
        const t = fakeIo(dir);
        expect(await main(["check", "deep.scn"], t.io)).toBe(1);
        const headers = t.out().split("\n").filter((l) => l.startsWith("deep.scn:"));
        // Bracket N is on line N + 1; the first past the limit ends its line.
        expect(headers).toEqual([
          `deep.scn:${MAX_NESTING + 2}:12: error: brackets nest deeper than ${MAX_NESTING} levels`,
          `deep.scn:${depth + 4}:5: error: unknown node 'nosuch'`,
        ]);
        expect(t.out()).toContain(`  ${MAX_NESTING + 2} |   raw file=(\n`);
      });
    });
  }

  it("the runner's loader fails the file with the same located diagnostic instead of crashing", async () => {
    await inDir({ "deep.scn": deepFile(1_500) }, async (dir) => {
      const r = await loadScenarioFile({ abs: join(dir, "deep.scn"), rel: "deep.scn" }, dir);
      expect(r.ok).toBe(false);
      expect(!r.ok && r.failure.message).toContain(`deep.scn:${MAX_NESTING + 2}:12: error: brackets nest deeper than ${MAX_NESTING} levels`);
    });
  });

  it("exactly MAX_NESTING levels parse, across lines too", () => {
    expect(parseScenario(deepFile(MAX_NESTING).replace("del nosuch", ""), "t.scn").diagnostics).toEqual([]);
    const text = "add a: raw file=" + "(raw file=".repeat(MAX_NESTING - 1) + "(null-co)" + ")".repeat(MAX_NESTING - 1);
    expect(parseScenario(text, "t.scn").diagnostics).toEqual([]);
  });
});

describe("walks over a deep AST built in memory", () => {
  const loc: Location = { source: "t.scn", start: { offset: 0, line: 1, column: 1 }, end: { offset: 1, line: 1, column: 2 } };
  /** An add whose `file` is a chain of `depth` inline raw children ending in null-co, with `$p` at the bottom. */
  function deepScenario(depth: number): Scenario {
    let value: Value = { type: "child", driver: { type: "identifier", name: "null-co", location: loc }, options: [{ type: "option", key: "x", keyLocation: loc, value: { type: "word", value: "$p", location: loc }, location: loc }], location: loc } as Value;
    for (let i = 0; i < depth; i++) {
      value = { type: "child", driver: { type: "identifier", name: "raw", location: loc }, options: [{ type: "option", key: "file", keyLocation: loc, value, location: loc }], location: loc } as Value;
    }
    const add = { type: "add", name: { type: "identifier", name: "a", location: loc }, driver: { type: "identifier", name: "raw", location: loc }, options: [{ type: "option", key: "file", keyLocation: loc, value, location: loc }], text: "add a: raw …", location: loc };
    const each = { type: "each", variable: { type: "identifier", name: "p", location: loc }, values: [{ type: "word", value: "7", location: loc }], text: "each p in 7", location: loc };
    return { type: "scenario", file: "t.scn", statements: [each, add] } as unknown as Scenario;
  }

  it("expandParameters substitutes at the bottom of 20,000 levels", () => {
    const [run] = expandParameters(deepScenario(20_000));
    let v = (run!.scenario.statements[1] as { options: Array<{ value: Value }> }).options[0]!.value;
    while (v.type === "child" && v.driver.name === "raw") v = v.options[0]!.value;
    expect(v.type === "child" && v.options[0]!.value).toMatchObject({ type: "number", value: 7 });
  });

  it("the parameter check and inlineChildren go through 20,000 levels", () => {
    expect(parameters.check({ scenario: deepScenario(20_000), schema: qapiSchema, assumeNodes: [] })).toEqual([]);
    const add = deepScenario(20_000).statements[1] as unknown as { options: [] };
    expect([...inlineChildren(add.options)]).toHaveLength(20_001);
  });
});

describe("parsing a file statement by statement", () => {
  /** The statements of one parse of the whole text, where that parse has no syntax errors. */
  function whole(text: string): unknown[] | undefined {
    const raw = parseRaw(text, "t.scn");
    const bad = JSON.stringify(raw.statements).includes('"type":"syntax-error"');
    return bad ? undefined : raw.statements;
  }

  function corpus(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? corpus(join(dir, e.name)) : e.name.endsWith(".scn") ? [readFileSync(join(dir, e.name), "utf8")] : [],
    );
  }

  it("gives what one parse of the whole file gives, for every scenario of the corpus and the docs", () => {
    const docs = [...readFileSync("docs/language.md", "utf8").matchAll(/```scn\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const texts = [...corpus("tests/scenarios"), ...docs];
    expect(texts.length).toBeGreaterThan(20);
    for (const text of texts) {
      for (const variant of [text, text.replace(/\n/g, "\r\n")]) {
        expect(parseScenario(variant, "t.scn").scenario.statements).toEqual(whole(variant));
      }
    }
  });

  it("gives what one parse of the whole file gives, for random token soups that parse", () => {
    const TOKENS = [
      ...COMMANDS, "raw", "graph", "edge", "ro", "top", "top/file", "f0", "null-co", "$fmt", "1M", "on", "null",
      "perm=", "read-only=", "file=", ":", "=", ",", "(", ")", "[", "]", "{", "}", "->", "-file->", "ok", "error",
      '"m(s"', '"', "/r(e/i", "/", "#", "# )", "##", "\\", "\n", "\n", "\n", " ", " ", '{"a": ["}", null]}',
    ];
    const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((ts) => ts.join(" "));
    fc.assert(
      fc.property(soup, (text) => {
        const expected = whole(text);
        if (expected) expect(parseScenario(text, "t.scn").scenario.statements).toEqual(expected);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe("files that are not scenario text", () => {
  it("a byte order mark gets its own message", async () => {
    await inDir({ "bom.scn": Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('scenario "x"\n')]) }, async (dir) => {
      const t = fakeIo(dir);
      expect(await main(["check", "bom.scn"], t.io)).toBe(1);
      expect(t.out()).toContain("bom.scn:1:1: error: file starts with a byte order mark\n");
      expect(t.out()).toContain("= note: its first 3 bytes mark it as UTF-8; scenario files are UTF-8 without a byte order mark");
    });
  });

  it("binary input is 'not a text file', located at the first byte that is not text", async () => {
    const bytes = Buffer.concat([Buffer.from('scenario "x"\nadd a: nu'), Buffer.from([0x00, 0xff, 0x01]), Buffer.from("ll-co\n")]);
    await inDir({ "bin.scn": bytes, "bad-utf8.scn": Buffer.from([0x61, 0x64, 0x64, 0x20, 0xc3, 0x28]) }, async (dir) => {
      const t = fakeIo(dir);
      expect(await main(["check", "bin.scn", "bad-utf8.scn"], t.io)).toBe(1);
      const headers = t.out().split("\n").filter((l) => /^\S+\.scn:\d/.test(l));
      expect(headers.sort()).toEqual(["bad-utf8.scn:1:5: error: not a text file", "bin.scn:2:10: error: not a text file"]);
      expect(t.out()).toContain("= note: byte 0x00 at offset 22 is NUL; scenario files are UTF-8 text");
      expect(t.out()).toContain("= note: byte 0xc3 at offset 4 is not UTF-8; scenario files are UTF-8 text");
      // The echoed line shows no raw control bytes.
      expect(t.out()).not.toMatch(/[\u0000\u0001]/);
    });
  });

  it("the runner's loader refuses them the same way", async () => {
    await inDir({ "bom.scn": Buffer.from([0xef, 0xbb, 0xbf, 0x61]) }, async (dir) => {
      const r = await loadScenarioFile({ abs: join(dir, "bom.scn"), rel: "bom.scn" }, dir);
      expect(!r.ok && r.failure.message).toContain("bom.scn:1:1: error: file starts with a byte order mark");
    });
  });
});
