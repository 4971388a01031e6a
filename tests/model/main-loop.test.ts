/** The model's main loop: timers and bottom halves on a virtual clock; no wall-clock time. */
import { describe, expect, it } from "vitest";
import { MainLoop, MainLoopBusyError, msToNs } from "../../src/engines/model/main-loop.js";

describe("MainLoop", () => {
  it("runs timers in deadline order, ties in arming order, moving the clock to each deadline", () => {
    const loop = new MainLoop();
    const seen: string[] = [];
    const at = (name: string) => () => seen.push(`${name}@${loop.nowNs}`);
    loop.after(30, at("c"));
    loop.after(10, at("a"));
    loop.after(30, at("d"));
    loop.after(20, at("b"));
    loop.settle();
    expect(seen).toEqual(["a@10", "b@20", "c@30", "d@30"]);
    expect(loop.idle).toBe(true);
  });

  it("runs bottom halves before any timer and without time passing, including those they schedule", () => {
    const loop = new MainLoop();
    const seen: string[] = [];
    loop.after(0, () => seen.push(`timer@${loop.nowNs}`));
    loop.scheduleBh(() => {
      seen.push("bh1");
      loop.scheduleBh(() => seen.push("bh3"));
    });
    loop.scheduleBh(() => seen.push("bh2"));
    expect(loop.step()).toBe(true);
    expect(seen).toEqual(["bh1", "bh2", "bh3"]);
    expect(loop.nowNs).toBe(0);
    expect(loop.step()).toBe(true);
    expect(seen.at(-1)).toBe("timer@0");
    expect(loop.step()).toBe(false);
  });

  it("re-arms (timer_mod), deletes (timer_del), and never fires a timer in the past", () => {
    const loop = new MainLoop();
    const fired: number[] = [];
    const t = loop.newTimer(() => fired.push(loop.nowNs));
    t.mod(100);
    t.mod(50);
    expect(t.deadlineNs).toBe(50);
    loop.advanceTo(60);
    expect(fired).toEqual([50]);
    t.mod(10); // already past: due now
    expect(t.deadlineNs).toBe(60);
    t.del();
    loop.settle();
    expect(fired).toEqual([50]);
  });

  it("run(ms) stops at the limit and leaves later timers armed", () => {
    const loop = new MainLoop();
    const fired: number[] = [];
    loop.after(msToNs(5), () => fired.push(5));
    loop.after(msToNs(15), () => fired.push(15));
    loop.run(10);
    expect(fired).toEqual([5]);
    expect(loop.nowNs).toBe(msToNs(10));
    expect(loop.step(msToNs(14))).toBe(false);
    loop.run(10);
    expect(fired).toEqual([5, 15]);
    expect(loop.nowNs).toBe(msToNs(20));
  });

  it("settle() refuses to spin for ever on a timer that always re-arms", () => {
    const loop = new MainLoop();
    const t = loop.newTimer(() => t.mod(loop.nowNs + 1_000));
    t.mod(0);
    expect(() => loop.settle(100)).toThrow(MainLoopBusyError);
    // A fixed amount of time still passes.
    const before = loop.nowNs;
    loop.run(1);
    expect(loop.nowNs).toBe(before + msToNs(1));
  });
});
