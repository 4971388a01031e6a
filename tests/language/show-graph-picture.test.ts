/** `show graph [NAME]`: the statement, and the checker's rule that picture names are unique. */
import { describe, expect, it } from "vitest";
import { only, problems } from "./helpers.js";

describe("show graph NAME", () => {
  it("parses with and without a picture name", () => {
    expect(only("show graph", "show")).toMatchObject({ what: "graph" });
    expect(only("show graph", "show").picture).toBeUndefined();
    expect(only("show graph after-detach  # a comment", "show")).toMatchObject({
      what: "graph",
      picture: { name: "after-detach", location: { start: { line: 1, column: 12 } } },
    });
    expect(only("show nodes", "show")).toMatchObject({ what: "nodes" });
  });

  it("a picture name has no dot and does not start with a digit (it is part of a file name)", () => {
    expect(problems("show graph a.b")).toEqual([expect.stringMatching(/^1:12 /)]);
    expect(problems("show graph 1")).toEqual([expect.stringMatching(/^1:12 /)]);
  });

  it("two pictures of one scenario cannot share a name, in any case", () => {
    const text = ["add n0: null-co", "show graph one", "show graph", "show graph one", "show graph One", "show graph two"].join("\n");
    expect(problems(text)).toEqual(["4:12 duplicate picture name 'one'", "5:12 duplicate picture name 'One'"]);
  });
});
