/**
 * blkdebug's rule machinery (drivers/blkdebug-rules.ts) against block/blkdebug.c's semantics, the
 * parts a recording shows only indirectly: which active rule wins, when the active list is
 * replaced, state matching against the state before the event, and `once`.
 */
import { describe, expect, it } from "vitest";
import { BlkdebugRules } from "../../../src/engines/model/drivers/blkdebug-rules.js";
import type { RuleSection } from "../../../src/engines/model/drivers/blkdebug-config.js";

const inject = (values: Record<string, string>): RuleSection => ({ group: "inject-error", values: new Map(Object.entries(values)) });
const setState = (values: Record<string, string>): RuleSection => ({ group: "set-state", values: new Map(Object.entries(values)) });

describe("blkdebug rules", () => {
  it("activate on their event only, and fail the I/O types of their mask (read, write, zero writes, discards, flushes by default)", () => {
    const rules = new BlkdebugRules([inject({ event: "read_aio" })]);
    expect(rules.check(0, 512, "read")).toBe(0);
    rules.event("write_aio");
    expect(rules.check(0, 512, "read")).toBe(0);
    rules.event("read_aio");
    expect(rules.check(0, 512, "read")).toBe(5);
    expect(rules.check(0, 512, "discard")).toBe(5);
    expect(rules.check(0, 512, "block-status")).toBe(0);
  });

  it("match a sector inside the request only, and go after one failure when `once`", () => {
    const rules = new BlkdebugRules([inject({ event: "none", sector: "8", errno: "28", once: "on" })]);
    rules.event("none");
    expect(rules.check(0, 4096, "write")).toBe(0);
    expect(rules.check(4096, 4096, "write")).toBe(28);
    expect(rules.check(4096, 4096, "write")).toBe(0);
    rules.event("none");
    expect(rules.check(4096, 4096, "write")).toBe(0);
  });

  it("pick the rule added first among the active ones, and an event with inject rules replaces the active list", () => {
    const rules = new BlkdebugRules([inject({ event: "pwritev", errno: "1" }), inject({ event: "pwritev", errno: "2" }), inject({ event: "pwritev_done", errno: "3", iotype: "flush" })]);
    rules.event("pwritev");
    expect(rules.check(0, 512, "write")).toBe(1);
    rules.event("pwritev_done");
    expect(rules.check(0, 512, "write")).toBe(0);
    expect(rules.check(0, 0, "flush")).toBe(3);
  });

  it("compare a rule's state with the state before the event, and set the new one after", () => {
    const rules = new BlkdebugRules([inject({ event: "read_aio", state: "2", errno: "5" }), setState({ event: "read_aio", state: "1", new_state: "2" })]);
    rules.event("read_aio");
    expect(rules.state).toBe(2);
    // In state 1 the inject rule did not act, though the event ended in state 2.
    expect(rules.check(0, 512, "read")).toBe(0);
    rules.event("read_aio");
    expect(rules.check(0, 512, "read")).toBe(5);
  });

  it("keep breakpoints by tag, and refuse to follow a request suspended at one", () => {
    const rules = new BlkdebugRules([]);
    expect(rules.breakpoint("nosuch", "t", ["pwritev"])).toBe(2);
    expect(rules.breakpoint("pwritev", "t", ["pwritev"])).toBe(0);
    expect(rules.removeBreakpoint("t")).toBe(0);
    expect(rules.removeBreakpoint("t")).toBe(2);
    rules.breakpoint("pwritev", "t", ["pwritev"]);
    expect(() => rules.event("pwritev")).toThrow(expect.objectContaining({ code: "E_MODEL_IO_UNSUPPORTED" }));
  });
});
