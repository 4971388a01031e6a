import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { consoleReporter } from "../../src/report/console.js";
import type { ReporterContext } from "../../src/report/reporter.js";
import { failed, passed, sink, skipped, summary } from "./fixture.js";

/** Drive a console reporter through a fixed run with a fake clock that advances 100ms per call. */
function drive(isTTY: boolean, color: boolean): string {
  const out = sink();
  let t = 0;
  const ctx: ReporterContext = {
    out,
    isTTY,
    color,
    columns: 60,
    now: () => (t += 100),
    previousTimes: new Map([["perms/<odd> & \"name\" #1 (qemu)", 1000]]),
  };
  const r = consoleReporter(ctx);
  r.onRunStart!({ total: 3, engines: ["model", "qemu"], jobs: 2 });
  r.onScenarioStart!(passed.id);
  r.onScenarioStart!(failed.id);
  r.onScenarioEnd!(passed);
  r.onScenarioEnd!(failed);
  r.onScenarioStart!(skipped.id);
  r.onScenarioEnd!(skipped);
  r.onRunEnd!(summary);
  return out.text;
}

const log = (name: string) => readFile(new URL(`./logs/${name}`, import.meta.url), "utf8");

describe("console reporter (golden logs, clock/colour/paths pinned)", () => {
  it("plain lines when not a terminal", async () => {
    expect(drive(false, false)).toBe(await log("console-plain.log"));
  });

  it("a single redrawn progress line on a terminal, in colour", async () => {
    expect(drive(true, true)).toBe(await log("console-tty.log"));
  });
});

describe("console reporter at hundreds of runs a second", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A run of 50 passing scenarios ending 1 ms apart on the given clock. */
  function fastRun(isTTY: boolean) {
    vi.useFakeTimers();
    const writes: string[] = [];
    let t = 0;
    const r = consoleReporter({
      out: { write: (s: string) => writes.push(s) },
      isTTY,
      color: false,
      columns: 80,
      now: () => t,
      previousTimes: new Map(),
    });
    r.onRunStart!({ total: 51, engines: ["model"], jobs: 1 });
    for (let i = 0; i < 50; i++) {
      const id = `s${i} (model)`;
      r.onScenarioStart!(id);
      t += 1;
      r.onScenarioEnd!({ ...passed, id });
    }
    return { r, writes, advance: (ms: number) => ((t += ms), vi.advanceTimersByTime(ms)) };
  }

  it("redraws the progress line at most every 100 ms, and shows the last state once the runs pause", () => {
    const { r, writes, advance } = fastRun(true);
    expect(writes.filter((w) => w.startsWith("["))).toEqual(["[0/51]"]);
    advance(100);
    expect(writes.at(-1)).toMatch(/^\[50\/51\] · ETA /);
    r.onScenarioStart!("slow (model)");
    advance(100);
    // A scenario that runs long is the one the line names.
    expect(writes.at(-1)).toMatch(/^\[50\/51\] · slow \(model\) · ETA /);
    r.onScenarioEnd!({ ...failed, id: "slow (model)" });
    // A failure is printed, and the line drawn, at once.
    expect(writes.slice(-3)).toEqual(["\r\x1b[K", "FAIL slow (model)\n", "[51/51] · 1 failed"]);
  });

  it("writes plain lines in batches, every line in order, none held past 100 ms or the run's end", () => {
    const { r, writes, advance } = fastRun(false);
    expect(writes).toEqual(["PASS s0 (model) 12ms\n"]);
    advance(100);
    expect(writes).toHaveLength(2);
    expect(writes.join("")).toBe(Array.from({ length: 50 }, (_, i) => `PASS s${i} (model) 12ms\n`).join(""));
    r.onScenarioEnd!({ ...passed, id: "last (model)" });
    r.onRunEnd!(summary);
    expect(writes.join("")).toContain("PASS s49 (model) 12ms\nPASS last (model) 12ms\n");
  });
});
