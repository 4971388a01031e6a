import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import peggy from "peggy";
import type { ast } from "peggy";
import { GRAMMAR_PATH } from "../../scripts/gen-parser.js";
import { COMMANDS, parseScenario } from "../../src/language/index.js";

/**
 * The grammar spells each keyword once, in a token rule (`AddToken "'add'" = "add" !WordChar`), as
 * Peggy's JavaScript example does; every other rule refers to the token. Read with Peggy's own
 * parser, so that only grammar literals count, not the text of actions or comments.
 */
const grammar = peggy.parser.parse(readFileSync(GRAMMAR_PATH, "utf8"), { grammarSource: GRAMMAR_PATH, reservedWords: peggy.RESERVED_WORDS });
const rules = new Map(grammar.rules.map((r) => [r.name, r]));

/** Two or more letters, as `scenario`, `read-only` or `perm=`; single letters are string escapes. */
const KEYWORD = /^[A-Za-z][A-Za-z-]+=?$/;

interface Found {
  value: string;
  rule: string;
  line: number;
}

const literals: Found[] = [];
const references = new Map<string, number>();
{
  let rule = "";
  const visit = peggy.compiler.visitor.build({
    rule(node: ast.Rule) {
      rule = node.name;
      visit(node.expression);
    },
    literal(node: ast.Literal) {
      literals.push({ value: node.value, rule, line: node.location.start.line });
    },
    rule_ref(node: ast.RuleReference) {
      references.set(node.name, (references.get(node.name) ?? 0) + 1);
    },
  });
  visit(grammar);
}
const keywords = literals.filter((l) => KEYWORD.test(l.value));
const tokens = grammar.rules.filter((r) => r.name.endsWith("Token"));

/** The keyword a token rule stands for: its literal, whatever comes after it. */
function keywordOf(token: ast.Rule): string | undefined {
  return keywords.find((k) => k.rule === token.name)?.value;
}

/** The rule a statement starts with (`Add = AddToken __w …` → AddToken). */
function leadingRule(e: ast.Expression | ast.Named): string | undefined {
  switch (e.type) {
    case "named":
    case "action":
    case "labeled":
    case "group":
      return leadingRule(e.expression);
    case "choice":
      return leadingRule(e.alternatives[0]!);
    case "sequence":
      return leadingRule(e.elements[0]!);
    case "rule_ref":
      return e.name;
    default:
      return undefined;
  }
}

describe("keywords in grammar/scenario.peggy", () => {
  it("finds the keywords", () => {
    expect(keywords.map((k) => k.value)).toEqual(expect.arrayContaining(["scenario", "reopen", "raw", "null", "perm="]));
  });

  it("spells each keyword exactly once", () => {
    const places = new Map<string, string[]>();
    for (const k of keywords) places.set(k.value, [...(places.get(k.value) ?? []), `${k.rule} (line ${k.line})`]);
    const repeated = [...places].filter(([, where]) => where.length > 1).map(([word, where]) => `"${word}" in ${where.join(", ")}`);
    expect(repeated, "define the keyword once as a token rule and refer to it").toEqual([]);
  });

  it("spells keywords only in token rules", () => {
    const outside = keywords.filter((k) => !k.rule.endsWith("Token")).map((k) => `"${k.value}" in ${k.rule} (line ${k.line})`);
    expect(outside, "refer to the keyword's token rule instead").toEqual([]);
  });

  it("makes each token one keyword that ends where a word would, named as it is typed", () => {
    const wrong: string[] = [];
    for (const token of tokens) {
      const word = keywordOf(token);
      const named = token.expression.type === "named" ? token.expression : undefined;
      const body = named?.expression;
      // `perm=` ends at its `=`; any other keyword must not run on into a longer word.
      const ends =
        word?.endsWith("=") === true
          ? body?.type === "literal"
          : body?.type === "sequence" &&
            body.elements.length === 2 &&
            body.elements[0]!.type === "literal" &&
            body.elements[1]!.type === "simple_not" &&
            body.elements[1]!.expression.type === "rule_ref" &&
            body.elements[1]!.expression.name === "WordChar";
      if (word === undefined || named?.name !== `'${word}'` || !ends) wrong.push(token.name);
    }
    expect(wrong, `write them as  XToken "'x'" = "x" !WordChar`).toEqual([]);
  });

  it("uses every token", () => {
    expect(tokens.filter((t) => !references.has(t.name)).map((t) => t.name)).toEqual([]);
  });

  it("starts each statement with a keyword of the command list, and lists no other", () => {
    const body = rules.get("StatementBody")!.expression;
    if (body.type !== "choice") throw new Error("StatementBody is a choice of statements");
    const leading = body.alternatives.map((alt) => {
      const statement = leadingRule(alt);
      const token = statement === undefined ? undefined : leadingRule(rules.get(statement)!.expression);
      return token === undefined ? `${statement}: no leading token` : keywordOf(rules.get(token)!) ?? `${statement}: no keyword`;
    });
    expect([...leading].sort()).toEqual([...COMMANDS].sort());
  });
});

describe("a keyword run on into a longer word", () => {
  // A bare literal that matched before its `!WordChar` failed would leave the keyword out of
  // "expected"; the token's display name keeps it in.
  it.each([
    ["expect rox top", "1:8 unexpected 'rox'", "expected 'edge', 'ro', 'rw', 'gone', 'exists', 'graph', 'node', 'job', 'frozen' or 'context'"],
    ["show graphs", "1:6 unexpected 'graphs'", "expected 'node', 'graph' or 'nodes'"],
    ["each fmt inx qcow2 raw", "1:10 unexpected 'inx'", "expected 'in'"],
    ['del a -> errors "x"', "1:10 unexpected 'errors'", "expected 'ok' or 'error'"],
    ['qmp x {"a": truex}', "1:13 unexpected 'truex'", "expected '{', '[', string, number, true/false/null or parameter"],
  ])("%j is reported where it starts, naming the keyword", (text, message, note) => {
    const { diagnostics } = parseScenario(text, "t.scn");
    expect(diagnostics.map((d) => [`${d.location.start.line}:${d.location.start.column} ${d.message}`, d.notes])).toEqual([[message, [note]]]);
  });
});
