/**
 * Previous run times (src/report/times.ts): merged into the file, skips keep their old time, and a
 * run that changes no time (one the result cache answered) leaves the file as it was.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readTimes, writeTimes } from "../../src/report/times.js";
import { failed, passed, skipped } from "./fixture.js";

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "bc-times-"));
  file = path.join(dir, "times.json");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("run times", () => {
  it("merges this run's times into the previous ones, sorted, and keeps a skipped run's old time", async () => {
    const previous = new Map([[skipped.id, 7], ["gone/elsewhere (model)", 3]]);
    expect(await writeTimes(file, previous, [passed, failed, skipped])).toBe(true);
    expect(Object.entries(JSON.parse(readFileSync(file, "utf8")) as object)).toEqual(
      [["gone/elsewhere (model)", 3], [failed.id, 1500], [passed.id, 12], [skipped.id, 7]].sort(([a], [b]) => ((a as string) < (b as string) ? -1 : 1)),
    );
    expect(await readTimes(file)).toEqual(new Map([["gone/elsewhere (model)", 3], [failed.id, 1500], [passed.id, 12], [skipped.id, 7]]));
  });

  it("writes nothing when every time is the one the file holds", async () => {
    writeFileSync(file, "as it was\n");
    expect(await writeTimes(file, new Map([[passed.id, 12], [failed.id, 1500]]), [passed, { ...failed, durationMs: 1500.4 }, skipped])).toBe(false);
    expect(readFileSync(file, "utf8")).toBe("as it was\n");
  });

  it("reads an absent or damaged file as no times", async () => {
    expect(await readTimes(file)).toEqual(new Map());
    writeFileSync(file, "{");
    expect(await readTimes(file)).toEqual(new Map());
  });
});
