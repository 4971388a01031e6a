import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
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
