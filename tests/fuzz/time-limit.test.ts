/**
 * `--time` bounds the whole run: a finding met near the end is shrunk only until the time is up,
 * then written as far as it got, and said so. Before, a shrink ran to its budget whatever the
 * time (a hang's candidates each wait for the timeout: an 8-minute run went on past 11 minutes).
 */
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { EngineKind } from "../../src/engines/engine.js";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { runFuzz } from "../../src/fuzz/fuzz-run.js";
import { renderSummary } from "../../src/fuzz/summary.js";
import { crashingEngine } from "./support/crashing-engine.js";

describe("a fuzz run with a time limit", () => {
  let out: string | undefined;
  afterEach(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it("stops shrinking when the time is up and writes the finding as far as it shrank", async () => {
    out = await mkdtemp(path.join(os.tmpdir(), "bc-fuzz-time-"));
    // A clock that the first crash moves past the limit: the finding is met with no time left.
    let clock = 0;
    const summary = await runFuzz({
      engines: ["model", "qemu"],
      seed: 5,
      timeMs: 60_000,
      jobs: 1,
      outDir: out,
      timeoutMs: 10_000,
      shrinkBudget: 100,
      now: () => clock,
      makeEngine: (kind: EngineKind) =>
        kind === "model"
          ? new ModelEngine()
          : crashingEngine((c) => {
              if (c !== "blockdev-reopen") return false;
              clock = 120_000;
              return true;
            }, "SIGABRT", "qemu-storage-daemon: ../../block.c:1: f: Assertion `x' failed.\n"),
      command: "blockcheck fuzz --seed 5 --time 1m",
    });
    expect(summary.stoppedBy).toBe("time");
    expect(summary.findings).toHaveLength(1);
    const [f] = summary.findings;
    expect(f!.shrunk).toMatchObject({ runs: 0, stoppedAtTimeLimit: true });
    expect(f!.shrunk!.to).toBe(f!.shrunk!.from);
    const scn = (await readdir(out)).find((n) => n.endsWith(".scn"))!;
    expect(await readFile(path.join(out, scn), "utf8")).toMatch(/testing 0 candidates \(stopped at the time limit\)\.$/m);
    expect(renderSummary(summary, out)).toContain("(0 candidates tested, stopped at the time limit)");
  });
});
