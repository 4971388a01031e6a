import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { GRAMMAR_PATH, PARSER_PATH, generateParserSource } from "../../scripts/gen-parser.js";

describe("the checked-in parser", () => {
  it("is what grammar/scenario.peggy generates (else run `npm run gen:parser`)", () => {
    const fresh = generateParserSource(readFileSync(GRAMMAR_PATH, "utf8"));
    const checkedIn = readFileSync(PARSER_PATH, "utf8");
    if (fresh !== checkedIn) {
      throw new Error(`${PARSER_PATH} is stale: it differs from what ${GRAMMAR_PATH} generates. Run \`npm run gen:parser\`.`);
    }
    expect(checkedIn.startsWith("// GENERATED FILE — DO NOT EDIT.")).toBe(true);
  });
});
