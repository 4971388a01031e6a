import { describe, expect, it } from "vitest";
import { COMMANDS, parseScenario } from "../../src/language/index.js";

describe("the command list used for 'unknown command'", () => {
  it("names exactly the keywords that start a statement", () => {
    for (const word of COMMANDS) {
      const { diagnostics } = parseScenario(`${word} ???`, "t.scn");
      expect(diagnostics.map((d) => d.message)).not.toContain(`unknown command '${word}'`);
    }
    const { diagnostics } = parseScenario("remove top", "t.scn");
    expect(diagnostics.map((d) => d.message)).toEqual(["unknown command 'remove'"]);
  });
});
