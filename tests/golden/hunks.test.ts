/** Review's hunk arithmetic: any choice of accepted, rejected and skipped hunks gives a consistent golden and pending file. */
import { describe, expect, it } from "vitest";
import { applyDecisions, applyHunks, hunksOf, type HunkDecision } from "../../src/golden/hunks.js";

const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i}`);
const GOLDEN = lines(40).join("\n") + "\n";
// Four separate changes: a replacement, an insertion, a deletion, and a lost final newline.
const PENDING = lines(40)
  .map((l, i) => (i === 2 ? "line 2 changed" : i === 12 ? `${l}\ninserted` : l))
  .filter((_, i) => i !== 25)
  .join("\n");

describe("hunks", () => {
  it("splits a change into its hunks; all of them give the pending text, none the golden", () => {
    const hunks = hunksOf(GOLDEN, PENDING);
    expect(hunks.map((h) => h.oldStart)).toEqual([1, 11, 23, 37]);
    expect(applyHunks(GOLDEN, hunks)).toBe(PENDING);
    expect(applyHunks(GOLDEN, [])).toBe(GOLDEN);
    expect(hunksOf(GOLDEN, GOLDEN)).toEqual([]);
  });

  it("for every choice, the golden gets exactly the accepted hunks and the pending file exactly the skipped ones on top", () => {
    const hunks = hunksOf(GOLDEN, PENDING);
    const choices: HunkDecision[] = ["accept", "reject", "skip"];
    for (let code = 0; code < 3 ** hunks.length; code++) {
      const decisions = hunks.map((_, i) => choices[Math.floor(code / 3 ** i) % 3]!);
      const next = applyDecisions(GOLDEN, hunks, decisions);
      const accepted = hunks.filter((_, i) => decisions[i] === "accept");
      const skipped = decisions.filter((d) => d === "skip").length;
      expect(next.golden).toBe(accepted.length > 0 ? applyHunks(GOLDEN, accepted) : undefined);
      if (skipped === 0) expect(next.pending).toBeUndefined();
      else expect(hunksOf(next.golden ?? GOLDEN, next.pending!)).toHaveLength(skipped);
      if (decisions.every((d) => d !== "reject") && skipped > 0) expect(next.pending).toBe(PENDING);
    }
  });
});
