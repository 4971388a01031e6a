/** `blockcheck fuzz`: random scenarios on the engines; failures shrunk and written as scenario files. */
import { randomInt } from "node:crypto";
import { mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../config/config.js";
import type { EngineKind } from "../../engines/engine.js";
import { createEngine } from "../../engines/factory/create.js";
import { ConfigError, UsageError } from "../../errors.js";
import { onFile } from "../../file-errors.js";
import { FuzzScratch } from "../../fuzz/fuzz-scratch.js";
import { runFuzz } from "../../fuzz/fuzz-run.js";
import { ProgressReporter } from "../../fuzz/progress.js";
import { renderSummary } from "../../fuzz/summary.js";
import type { Command } from "../command.js";
import { enginesFor, positiveInt } from "./run-options.js";

/** Cases when neither --count nor --time is given. */
const DEFAULT_COUNT = 1000;
const DEFAULT_OUT = ".blockcheck/fuzz";

/** `90`, `90s`, `10m`, `1.5h` → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text);
  const n = m ? Number(m[1]) * { s: 1, m: 60, h: 3600 }[(m[2] ?? "s") as "s" | "m" | "h"] : NaN;
  if (!(n > 0)) throw new UsageError(`--time takes a duration such as 90, 90s, 10m or 1h (got '${text}')`);
  return n * 1000;
}

/** A seed: a decimal or 0x-hex integer below 2^32. */
export function parseSeed(text: string): number {
  const n = /^(0x[0-9a-f]+|\d+)$/i.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) throw new UsageError(`--seed takes an integer from 0 to 4294967295 (got '${text}')`);
  return n;
}

/** Can QEMU start and make an image here? Asked once, so a missing QEMU is one error, not a finding per case. */
async function checkQemu(make: () => ReturnType<typeof createEngine>): Promise<void> {
  const scratch = await FuzzScratch.create();
  const dir = scratch.make();
  const engine = make();
  try {
    await engine.start({ workdir: dir.dir });
    await engine.createImage({ path: "x.raw", format: "raw", size: 65536 });
  } catch (e) {
    throw new ConfigError(`the qemu engine cannot run: ${(e as Error).message.split("\n")[0]} (use --engine model to fuzz the model alone)`, { cause: e });
  } finally {
    await engine.stop();
    await scratch.close();
  }
}

export const fuzzCommand: Command = {
  name: "fuzz",
  summary: "run random scenarios; shrink what fails to a scenario file",
  usage: "",
  description: [
    "Generates random scenarios (every driver the model has, inline and shared children, single and",
    "multi-node reopens, del, exports) and runs them through the runner on the chosen engines: with",
    "both, QEMU's transcript and the model's are compared. A divergence, a QEMU crash or hang, or an",
    "exception in the model is shrunk to a small scenario that still fails the same way and written to",
    "--out as NAME.scn with NAME.out beside it, ready for the corpus. The same failure met again is",
    "counted, not shrunk again; crashes are told apart by signal and assertion text (or where the",
    "kernel saw a segfault). The same --seed gives the same cases. docs/fuzz.md has the distribution.",
    "",
    "Exit status: 0 nothing found, 1 something found, 2 usage or configuration error.",
  ].join("\n"),
  options: {
    engine: { type: "string", short: "e", value: "ENGINE", description: "both (default), qemu or model" },
    seed: { type: "string", short: "s", value: "S", description: "seed of the case sequence (default: random, printed)" },
    count: { type: "string", short: "n", value: "N", description: `run N cases (default ${DEFAULT_COUNT})` },
    time: { type: "string", value: "T", description: "run cases for T (90, 90s, 10m, 1h) instead of a count" },
    jobs: { type: "string", short: "j", value: "N", description: "cases run at once (default: 2 per core with QEMU, else 1)" },
    out: { type: "string", short: "o", value: "DIR", description: `where findings are written (default ${DEFAULT_OUT})` },
    timeout: { type: "string", value: "SECONDS", description: "per-scenario timeout (default 30)" },
    "shrink-budget": { type: "string", value: "N", description: "candidates one shrink may test (default 300)" },
  },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) throw new UsageError(`fuzz takes no arguments (got '${positionals[0]}')`);
    if (values.count !== undefined && values.time !== undefined) throw new UsageError("give --count or --time, not both");
    const config = await loadConfig(io.cwd);
    const engines: EngineKind[] = enginesFor((values.engine as string | undefined) ?? "both");
    const seed = values.seed !== undefined ? parseSeed(values.seed as string) : randomInt(0, 0xffffffff);
    const count = values.time !== undefined ? undefined : values.count !== undefined ? positiveInt("count", values.count as string) : DEFAULT_COUNT;
    const timeMs = values.time !== undefined ? parseDuration(values.time as string) : undefined;
    const jobs = values.jobs !== undefined ? positiveInt("jobs", values.jobs as string) : engines.includes("qemu") ? 2 * os.availableParallelism() : 1;
    const timeoutS = values.timeout !== undefined ? positiveInt("timeout", values.timeout as string) : 30;
    const shrinkBudget = values["shrink-budget"] !== undefined ? positiveInt("shrink-budget", values["shrink-budget"] as string) : 300;
    const outDir = path.resolve(io.cwd, (values.out as string | undefined) ?? DEFAULT_OUT);
    const makeEngine = (kind: EngineKind) =>
      createEngine(kind, { qemu: { binaries: config.binaries, env: io.env, keepScratch: true, callTimeoutMs: timeoutS * 1000 } });
    if (engines.includes("qemu")) await checkQemu(() => makeEngine("qemu"));
    // An --out that cannot be made is an error now, not after the first finding was shrunk.
    await onFile("create the --out directory", outDir, () => mkdir(outDir, { recursive: true }));

    const limit = count !== undefined ? `${count} cases` : `${values.time as string}`;
    io.stdout.write(`blockcheck fuzz: seed ${seed}, engine ${engines.join("+")}, ${limit}, ${jobs} at once; findings go to ${path.relative(io.cwd, outDir) || outDir}\n`);
    const progress = new ProgressReporter({ out: io.stdout, isTTY: io.stdout.isTTY === true, now: () => performance.now() });
    const command = ["blockcheck fuzz", `--engine ${engines.length === 2 ? "both" : engines[0]}`, `--seed ${seed}`, count !== undefined ? `--count ${count}` : `--time ${values.time as string}`].join(" ");
    const summary = await runFuzz({
      engines,
      seed,
      ...(count !== undefined ? { count } : {}),
      ...(timeMs !== undefined ? { timeMs } : {}),
      jobs,
      outDir,
      timeoutMs: timeoutS * 1000,
      shrinkBudget,
      makeEngine,
      command,
      onProgress: (p) => progress.update(p),
    });
    progress.end();
    io.stdout.write(renderSummary(summary, io.cwd));
    return summary.findings.length > 0 ? 1 : 0;
  },
};
