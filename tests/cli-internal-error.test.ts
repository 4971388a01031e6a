/**
 * Exit 70 for a bug. No user input is meant to reach it, so a command that fails the way a bug does
 * (a TypeError, not a typed BlockcheckError) is put in place of `check`.
 */
import { describe, expect, it, vi } from "vitest";
import type { Command } from "../src/cli/command.js";
import { blockcheck } from "./support/cli.js";

vi.mock("../src/cli/commands/check.js", () => ({
  check: {
    name: "check",
    summary: "parse and validate scenario files",
    usage: "",
    description: "",
    options: {},
    async run() {
      throw new TypeError("Cannot read properties of undefined (reading 'nodes')");
    },
  } satisfies Command,
}));

describe("an internal error", () => {
  it("exits 70 and says it is a bug, with the stack", async () => {
    const r = await blockcheck(["check"]);
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(/^blockcheck check: internal error \(this is a bug\): TypeError: Cannot read properties of undefined \(reading 'nodes'\)\n {4}at /);
  });
});
