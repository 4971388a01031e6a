/**
 * Speed bench: the table of issue 18, from one run of the built CLI (`node bin/blockcheck.js`, so
 * it times what a user runs, module loading included):
 *
 * - CLI start: `--help`, `check` of one file, `run` of one file on the model;
 * - the 245-class corpus (tests/scenarios/**\/245-*.scn) and the whole scenario tree, on the qemu
 *   engine and on the model, at the CLI's default -j;
 * - `./check -qcow2 245` from a qemu-iotests tree, when BLOCKCHECK_BENCH_IOTESTS names one, with
 *   BLOCKCHECK_BENCH_IOTESTS_QEMU as its qemu-system (docs/performance.md says how to get the tree
 *   from QEMU v7.2.0 and run it on distro binaries);
 * - model scenarios/s on BLOCKCHECK_BENCH_GENERATED (default 10,000) generated scenarios, in a
 *   temporary project: one `run --update` pass that writes the goldens, then the timed compare pass
 *   (`--ci`: every scenario runs), and two local runs as on every save, with the model results the
 *   last run kept (src/runner/result-cache.ts): nothing changed, and one file changed.
 *
 * Every row runs BLOCKCHECK_BENCH_REPS times (default 5; the generated rows 3), the rows interleaved
 * so a change in machine load hits all of them alike, and the median is printed with min and max.
 * One untimed run per engine first writes the run times that a local run reads to start the slowest
 * scenarios first (a fresh clone in CI has none).
 * BLOCKCHECK_BENCH_ROOT points the bench at another checkout; BLOCKCHECK_BENCH_BEFORE names an older
 * checkout to time interleaved with this one, over the older one's scenarios and goldens (which the
 * newer CLI runs too): the before/after table of docs/performance.md. Every tree timed is built first.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defaultJobs } from "../src/cli/commands/run-options.js";
import { generatedScenario } from "./generated.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(process.env.BLOCKCHECK_BENCH_ROOT ?? path.join(here, ".."));
const reps = Number(process.env.BLOCKCHECK_BENCH_REPS ?? 5);
const generatedCount = Number(process.env.BLOCKCHECK_BENCH_GENERATED ?? 10_000);
const iotests = process.env.BLOCKCHECK_BENCH_IOTESTS;
/** Another checkout (built), timed interleaved with this one over its own scenarios: a before/after table. */
const before = process.env.BLOCKCHECK_BENCH_BEFORE ? path.resolve(process.env.BLOCKCHECK_BENCH_BEFORE) : undefined;

interface Row {
  label: string;
  /** Scenario runs per measurement, for the rate column; 0 when a rate means nothing. */
  runs: number;
  times: Sample[];
  /** Runs at most this many times (the slow rows). */
  maxReps: number;
  measure(): Sample;
}

/** GNU time, when installed: it reports the CPU time of the command and of every process it waited for (QEMU included). */
const gnuTime = ["/usr/bin/time"].find((t) => spawnSync(t, ["-f", "%U", "true"]).status === 0);

/**
 * Wall and CPU seconds (user + system, QEMU's included; NaN without GNU time) of one command;
 * throws with its output when it fails. On a shared machine the CPU time is the steadier figure.
 */
function wall(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Sample {
  const timed = gnuTime ? [gnuTime, ["-f", "bench-cpu %U %S", cmd, ...args]] as const : [cmd, args] as const;
  const t0 = performance.now();
  const r = spawnSync(timed[0], timed[1], { cwd, env, encoding: "utf8", maxBuffer: 1 << 28 });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) {
    throw new Error(`bench: '${[cmd, ...args].join(" ")}' exited ${r.status}:\n${(r.stdout ?? "").slice(-2000)}${(r.stderr ?? "").slice(-2000)}`);
  }
  const m = /bench-cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr ?? "");
  return { wall: s, cpu: m ? Number(m[1]) + Number(m[2]) : NaN };
}

interface Sample {
  wall: number;
  cpu: number;
}

/** How many runs a selection holds (one line per scenario instance in --list). */
function listed(cli: string, args: string[], cwd: string): number {
  const out = execFileSync(process.execPath, [cli, "run", "--list", ...args], { cwd, encoding: "utf8" });
  return out.split("\n").filter((l) => l.trim() !== "").length;
}

function qemuInstalled(): boolean {
  return spawnSync(process.env.QSD_PROG ?? "qemu-storage-daemon", ["--version"], { stdio: "ignore" }).status === 0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function fmt(s: number): string {
  return s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`;
}

/** A project of generated scenarios with goldens written by one --update pass. */
function generatedProject(count: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bc-bench-speed-"));
  writeFileSync(path.join(dir, "package.json"), '{ "name": "bench", "private": true }\n');
  for (let i = 0; i < count; i++) {
    const sub = path.join(dir, "tests/scenarios", `g${Math.floor(i / 500)}`);
    if (i % 500 === 0) mkdirSync(sub, { recursive: true });
    writeFileSync(path.join(sub, `s${i}.scn`), generatedScenario(i));
  }
  return dir;
}

/** The rows for one CLI (the checkout at `tree`) over the scenarios and goldens of `corpus`. */
function rowsFor(tree: string, corpus: string, tag: string, haveQemu: boolean): Row[] {
  const cli = path.join(tree, "bin/blockcheck.js");
  const bc = (args: string[], cwd = corpus) => wall(process.execPath, [cli, ...args], cwd);
  const one = "reopen/fresh.scn";
  const sel = ["*/245-*"];
  const n245 = listed(cli, sel, corpus);
  const nAll = listed(cli, [], corpus);
  const row = (label: string, runs: number, measure: () => Sample): Row => ({ label: `${tag}${label}`, runs, maxReps: Infinity, times: [], measure });
  const rows = [
    row("CLI `--help`", 0, () => bc(["--help"])),
    row(`CLI \`check\` one file (${one})`, 0, () => bc(["check", `tests/scenarios/${one}`])),
    row("CLI `run` one file, model", 1, () => bc(["run", "--ci", one])),
    row(`245 corpus (${n245} runs), model`, n245, () => bc(["run", "--ci", ...sel])),
    row(`all scenarios (${nAll} runs), model`, nAll, () => bc(["run", "--ci"])),
  ];
  if (haveQemu) {
    rows.push(
      row("CLI `run` one file, qemu", 1, () => bc(["run", "--ci", "--engine", "qemu", one])),
      row(`245 corpus (${n245} runs), qemu`, n245, () => bc(["run", "--ci", "--engine", "qemu", ...sel])),
      row(`all scenarios (${nAll} runs), qemu`, nAll, () => bc(["run", "--ci", "--engine", "qemu"])),
    );
  }
  return rows;
}

function build(tree: string): void {
  if (process.env.BLOCKCHECK_BENCH_NO_BUILD) return;
  // tsc writes dist/ even when some file has a type error; the bench times what was written.
  const built = spawnSync(process.execPath, [path.join(tree, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: tree, stdio: "inherit" });
  if (built.status !== 0) console.log(`(the build of ${tree} reported errors, exit ${built.status}; timing the files it wrote)\n`);
  // The bundle its bin/blockcheck.js runs (scripts/bundle.ts), in a tree that has one.
  if (!existsSync(path.join(tree, "scripts/bundle.ts"))) return;
  const bundled = spawnSync(process.execPath, [path.join(tree, "node_modules/tsx/dist/cli.mjs"), "scripts/bundle.ts"], { cwd: tree, stdio: "inherit" });
  if (bundled.status !== 0) throw new Error(`bundling ${tree} failed (exit ${bundled.status})`);
}

export async function run(): Promise<void> {
  build(root);
  if (before) build(before);
  const haveQemu = qemuInstalled();
  // With a "before" checkout both CLIs run over its scenarios and goldens, which the newer one runs too.
  const corpus = before ?? root;
  const trees = before ? [{ tree: before, tag: "before: " }, { tree: root, tag: "after: " }] : [{ tree: root, tag: "" }];
  // One run that writes times, as every local run does: with them, runs in several lanes start the
  // slowest scenario first (src/runner/order.ts). A fresh clone in CI has none, and runs in file order.
  for (const engine of haveQemu ? ["model", "qemu"] : ["model"]) wall(process.execPath, [path.join(root, "bin/blockcheck.js"), "run", "--engine", engine], corpus, { ...process.env, CI: "" });
  const byTree = trees.map(({ tree, tag }) => rowsFor(tree, corpus, tag, haveQemu));
  // Interleaved row by row, so each before row runs right next to its after row.
  const rows: Row[] = byTree[0]!.flatMap((r, i) => [r, ...byTree.slice(1).map((t) => t[i]!)]);
  if (iotests) {
    // ./check runs serially; QEMU_PROG and friends point it at the distro binaries (docs/performance.md).
    // Only ./check gets the iotests binaries: BLOCKCHECK_BENCH_IOTESTS_QEMU is the qemu-system to run
    // (on Debian a wrapper that swaps the missing qtest accelerator for TCG), the others are the distro's.
    const env = {
      ...process.env,
      QEMU_PROG: process.env.BLOCKCHECK_BENCH_IOTESTS_QEMU ?? process.env.QEMU_PROG ?? "/usr/bin/qemu-system-x86_64",
      QEMU_IMG_PROG: process.env.QEMU_IMG_PROG ?? "/usr/bin/qemu-img",
      QEMU_IO_PROG: process.env.QEMU_IO_PROG ?? "/usr/bin/qemu-io",
      QEMU_NBD_PROG: process.env.QEMU_NBD_PROG ?? "/usr/bin/qemu-nbd",
      QSD_PROG: process.env.QSD_PROG ?? "/usr/bin/qemu-storage-daemon",
    };
    rows.push({ label: "`./check -qcow2 245` (qemu-iotests)", runs: 0, maxReps: 3, times: [], measure: () => wall(path.join(iotests, "check"), ["-qcow2", "245"], iotests, env) });
  }
  let gen: string | undefined;
  try {
    if (generatedCount > 0) {
      gen = generatedProject(generatedCount);
      const dir = gen;
      wall(process.execPath, [path.join(root, "bin/blockcheck.js"), "run", "--update", "-r", "tap", "-o", path.join(dir, "update.tap")], dir, { ...process.env, CI: "" });
      const n = generatedCount.toLocaleString("en");
      const local = { ...process.env, CI: "" };
      for (const [i, { tree, tag }] of trees.entries()) {
        // A project of its own per tree: each CLI keeps its results (.blockcheck/results.json) keyed by
        // its own build, and a shared file would be the other tree's at every run.
        const dir = i === 0 ? gen : path.join(gen, `tree-${i}`);
        if (i > 0) for (const entry of ["package.json", "tests", "golden"]) cpSync(path.join(gen, entry), path.join(dir, entry), { recursive: true });
        // The file the "one changed" row edits: a comment added, then taken away.
        const edited = path.join(dir, "tests/scenarios/g0/s1.scn");
        let flip = false;
        const editOne = () => writeFileSync(edited, generatedScenario(1) + ((flip = !flip) ? "# edited\n" : ""));
        const cli = path.join(tree, "bin/blockcheck.js");
        const tap = ["-r", "tap", "-o", path.join(dir, "run.tap")];
        rows.push({ label: `${tag}${n} generated scenarios, model`, runs: generatedCount, maxReps: 3, times: [], measure: () => wall(process.execPath, [cli, "run", "--ci", ...tap], dir) });
        // A local run, as on every save: model results kept from the last run (result-cache.ts).
        rows.push({ label: `${tag}${n} generated scenarios, model, local run, none changed`, runs: generatedCount, maxReps: 3, times: [], measure: () => wall(process.execPath, [cli, "run", ...tap], dir, local) });
        rows.push({
          label: `${tag}${n} generated scenarios, model, local run, one changed`,
          runs: generatedCount,
          maxReps: 3,
          times: [],
          measure: () => (editOne(), wall(process.execPath, [cli, "run", ...tap], dir, local)),
        });
      }
    }
    for (let i = 0; i < reps; i++) {
      for (const row of rows) if (row.times.length < row.maxReps) row.times.push(row.measure());
    }
  } finally {
    if (gen) rmSync(gen, { recursive: true, force: true });
  }
  const what = before ? `before: ${before}, after: ${root}, both over the scenarios of ${before}` : `tree: ${root}`;
  const jobsNote = `each CLI at its default -j (this tree's: ${defaultJobs(["model"])} on the model, ${defaultJobs(["qemu"])} with QEMU)`;
  console.log(`${what}; ${os.cpus().length} CPUs, ${jobsNote}; load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; median of ${reps} interleaved runs\n`);
  console.log("| measurement | wall median | wall min | wall max | runs/s (wall median) | CPU median | runs/CPU-s |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const walls = r.times.map((t) => t.wall);
    const m = median(walls);
    const cpu = median(r.times.map((t) => t.cpu));
    const rate = (x: number) => (r.runs > 0 && Number.isFinite(x) ? (r.runs / x).toFixed(1) : "-");
    console.log(`| ${r.label} | ${fmt(m)} | ${fmt(Math.min(...walls))} | ${fmt(Math.max(...walls))} | ${rate(m)} | ${Number.isFinite(cpu) ? fmt(cpu) : "-"} | ${rate(cpu)} |`);
  }
  const check245 = rows.find((r) => r.label.startsWith("`./check"));
  const q245 = rows.find((r) => /^(after: )?245 corpus/.test(r.label) && r.label.endsWith("qemu"));
  if (check245 && q245) {
    const ratio = (f: (s: Sample) => number) => (median(q245.times.map(f)) / median(check245.times.map(f))).toFixed(3);
    console.log(`\n245 corpus on qemu / ./check -qcow2 245: ${ratio((s) => s.wall)}× the wall time, ${ratio((s) => s.cpu)}× the CPU time`);
  }
}
