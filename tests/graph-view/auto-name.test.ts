import { describe, expect, it } from "vitest";
import { formatAutoName, isAutoName, mentionsAutoName, replaceAutoNames } from "../../src/graph-view/auto-name.js";

describe("auto names", () => {
  it("are #block, the counter and two random digits, as id_generate prints them", () => {
    expect(formatAutoName(0, 25)).toBe("#block025");
    expect(formatAutoName(12, 7)).toBe("#block1207");
  });

  it("are every name a user cannot give: one starting with '#'", () => {
    expect(isAutoName("#block025")).toBe(true);
    expect(isAutoName("#block1")).toBe(true);
    expect(isAutoName("block025")).toBe(false);
    expect(isAutoName("")).toBe(false);
  });

  it("are found in messages only in QEMU's form, not as a user's invalid #block1", () => {
    const text = "Invalid node-name: '#block1'; Node #block062 and #block12345 are in use";
    expect(replaceAutoNames(text, (n) => `<${n.length}>`)).toBe("Invalid node-name: '#block1'; Node <9> and <11> are in use");
    expect(mentionsAutoName(text)).toBe(true);
    expect(mentionsAutoName("Invalid node-name: '#block1'")).toBe(false);
  });

  it("can be searched for again and again (no regex state leaks between calls)", () => {
    for (let i = 0; i < 3; i++) expect(mentionsAutoName("Node #block100 is busy")).toBe(true);
  });
});
