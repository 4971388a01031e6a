/** relativePath is path.relative wherever the runner calls it: below, at, beside and above `from`. */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { relativePath, relativeSlashed } from "../src/relative-path.js";

describe("relativePath", () => {
  const cases: Array<[string, string]> = [
    ["/p", "/p/a.scn"],
    ["/p", "/p/sub/dir/a.scn"],
    ["/p", "/p"],
    ["/p", "/pq/a.scn"],
    ["/p/q", "/p/a.scn"],
    ["/", "/a/b"],
    ["/p/", "/p/a"],
    ["/p", "/other/x"],
  ];
  it.each(cases)("from %s to %s is path.relative's answer", (from, to) => {
    expect(relativePath(from, to)).toBe(path.relative(from, to));
    expect(relativeSlashed(from, to)).toBe(path.relative(from, to).split(path.sep).join("/"));
  });
});
