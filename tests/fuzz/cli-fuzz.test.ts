/**
 * `blockcheck fuzz` as a user runs it: on the model a short run finds nothing and exits 0, with plain
 * progress lines when stdout is not a terminal and one line rewritten in place when it is; flags
 * are checked before anything runs.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseDuration, parseSeed } from "../../src/cli/commands/fuzz.js";
import { FINDING_CLASSES } from "../../src/fuzz/classify.js";
import { ProgressReporter, progressLine } from "../../src/fuzz/progress.js";
import { blockcheck } from "../support/cli.js";

let out: string | undefined;
afterEach(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

const none = Object.fromEntries(FINDING_CLASSES.map((c) => [c, 0])) as Record<(typeof FINDING_CLASSES)[number], number>;

describe("blockcheck fuzz", () => {
  it("runs a few cases on the model, finds nothing and exits 0", async () => {
    out = await mkdtemp(path.join(os.tmpdir(), "bc-fuzz-cli-"));
    const r = await blockcheck(["fuzz", "--engine", "model", "--seed", "3", "--count", "12", "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^blockcheck fuzz: seed 3, engine model, 12 cases, 1 at once; findings go to /);
    expect(r.stdout).toMatch(/^fuzz [\d.ms]+: 12 cases \([\d.]+\/s\), 0 divergences, 0 QEMU crashes, 0 hangs, 0 model exceptions \[0 distinct\]$/m);
    expect(r.stdout).toMatch(/^blockcheck fuzz: 12 cases in [\d.ms]+ \([\d.]+ cases\/s\), seed 3, engine model\nnothing found\n$/m);
    expect(r.stdout).not.toContain("\r");
  });

  it("checks its flags before running anything", async () => {
    expect((await blockcheck(["fuzz", "--count", "5", "--time", "1m"])).stderr).toContain("give --count or --time, not both");
    expect((await blockcheck(["fuzz", "--count", "5", "--time", "1m"])).code).toBe(2);
    expect((await blockcheck(["fuzz", "--engine", "model", "--seed", "x1"])).code).toBe(2);
    expect((await blockcheck(["fuzz", "--engine", "neither"])).code).toBe(2);
    expect((await blockcheck(["fuzz", "extra"])).code).toBe(2);
    expect(parseDuration("90")).toBe(90_000);
    expect(parseDuration("10m")).toBe(600_000);
    expect(parseDuration("1.5h")).toBe(5_400_000);
    expect(() => parseDuration("5q")).toThrow(/--time takes a duration/);
    expect(parseSeed("0x10")).toBe(16);
    expect(() => parseSeed("4294967296")).toThrow(/--seed/);
  });

  it("is listed with its options in help", async () => {
    const r = await blockcheck(["help", "fuzz"]);
    expect(r.code).toBe(0);
    for (const flag of ["--engine", "--seed", "--count", "--time", "--jobs", "--out"]) expect(r.stdout).toContain(flag);
  });
});

describe("fuzz progress", () => {
  const p = (cases: number, elapsedMs: number) => ({ cases, elapsedMs, occurrences: { ...none, divergence: 2, "qemu-crash": 1 }, distinct: 2, known: 0, shrinking: 1 });

  it("reads as one line of counts", () => {
    expect(progressLine(p(50, 10_000))).toBe("fuzz 10.0s: 50 cases (5.0/s), 2 divergences, 1 QEMU crash, 0 hangs, 0 model exceptions [2 distinct, 1 shrinking]");
  });

  it("rewrites one line on a terminal and prints a line now and then elsewhere", () => {
    let t = 0;
    let tty = "";
    let log = "";
    const onTty = new ProgressReporter({ out: { write: (s: string) => ((tty += s), true) } as never, isTTY: true, now: () => t });
    const inLog = new ProgressReporter({ out: { write: (s: string) => ((log += s), true) } as never, isTTY: false, now: () => t, intervalMs: 10_000 });
    for (let i = 1; i <= 100; i++) {
      t = i * 1000;
      onTty.update(p(i, t));
      inLog.update(p(i, t));
    }
    onTty.end();
    inLog.end();
    expect(tty.split("\r").length - 1).toBe(101);
    expect(tty).not.toMatch(/\n.*\n/);
    expect(tty.endsWith("\n")).toBe(true);
    expect(log).not.toContain("\r");
    // At 1 s, then every 10 s (11, 21, … 91), then the last state at the end.
    expect(log.trimEnd().split("\n")).toHaveLength(11);
  });
});
