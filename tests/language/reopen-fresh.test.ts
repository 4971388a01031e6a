/** `reopen fresh …`: parsed as its own mode, beside `reopen raw`, and checked as the other forms are. */
import { describe, expect, it } from "vitest";
import { only, problems } from "./helpers.js";

describe("reopen fresh", () => {
  it("is a mode of reopen, one line or a block", () => {
    expect(only("reopen fresh top read-only=on", "reopen")).toMatchObject({
      mode: "fresh",
      entries: [{ node: { text: "top" }, options: [{ key: "read-only" }] }],
    });
    expect(only("reopen fresh {\n  top\n  top/file read-only=on\n}", "reopen")).toMatchObject({
      mode: "fresh",
      entries: [{ node: { text: "top" } }, { node: { text: "top/file" } }],
    });
    expect(only("reopen fresh top", "reopen")).toMatchObject({ mode: "fresh", entries: [{ node: { text: "top" }, options: [] }] });
  });

  it("leaves a node named fresh reopenable, as raw does", () => {
    expect(only("reopen fresh read-only=on", "reopen")).toMatchObject({ mode: "delta", entries: [{ node: { text: "fresh" } }] });
    expect(only("reopen fresh", "reopen")).toMatchObject({ mode: "delta", entries: [{ node: { text: "fresh" } }] });
    expect(only("reopen fresh fresh", "reopen")).toMatchObject({ mode: "fresh", entries: [{ node: { text: "fresh" } }] });
  });

  it("has its options and nodes checked like any reopen", () => {
    expect(problems("add n0: null-co\nreopen fresh n0 siez=1M\nreopen fresh n1")).toEqual([
      "2:17 unknown option 'siez' for driver 'null-co'",
      "3:14 unknown node 'n1'",
    ]);
  });
});
