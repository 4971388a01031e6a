/**
 * Input bench: what big input costs.
 *
 * 1. Scenario files of 1 MB, 10 MB and 50 MB (a realistic mix of statements, repeated with fresh
 *    names): read, parse, validate — time for each stage and peak RSS.
 * 2. One QMP command carrying a 10 MB string, through the `blockcheck qmp` monitor's lexer and
 *    parser (src/monitor): time and peak RSS.
 *
 * Each measurement runs in its own child process, so its peak RSS is its own, and a run that
 * exhausts the heap is reported as such instead of ending the bench.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const SCENARIO_SIZES_MB = [1, 10, 50];
const QMP_STRING_MB = 10;
const MB = 1024 * 1024;

/** One block of statements, names made unique by `i`. */
function block(i: number): string {
  return [
    `## block ${i}`,
    `image d${i}.qcow2 qcow2 1M`,
    `add q${i}: qcow2 file=(f${i}: file filename=d${i}.qcow2 locking=off) cache.direct=off   # inline child`,
    `add r${i}: raw file=(blkdebug image=(file filename=d${i}.qcow2 locking=off) take-child-perms=[resize])`,
    `reopen q${i} read-only=on`,
    `reopen {`,
    `  q${i} read-only=off`,
    `  f${i} read-only=off`,
    `}`,
    `expect edge q${i} -file-> f${i} perm=consistent-read,write,resize shared=consistent-read,write-unchanged`,
    `qmp object-add {"qom-type": "throttle-group", "id": "tg${i}", "limits": {"iops-total": 1000, "bps-read": 4096}}`,
    `add x${i}: qcow2 file=f${i} -> error /Permission conflict on node 'f${i}'/`,
    `del r${i}`,
    "",
  ].join("\n");
}

/** A scenario of at least `bytes` bytes. */
export function scenarioText(bytes: number): string {
  const parts = ['scenario "input bench"', "tags bench", ""];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const b = block(i);
    parts.push(b);
    size += b.length + 1;
  }
  return parts.join("\n");
}

/** Figures one child reports; times in ms, RSS in MiB. */
type Figures = Record<string, number>;

/** In the child: read, parse and validate one scenario file. */
export async function measureScenario(file: string): Promise<Figures> {
  const { parseScenario } = await import("../src/language/parse.js");
  const { validateScenario } = await import("../src/language/validate.js");
  let t = performance.now();
  const text = readFileSync(file, "utf8");
  const readMs = performance.now() - t;
  t = performance.now();
  const parsed = parseScenario(text, file);
  const parseMs = performance.now() - t;
  t = performance.now();
  const diagnostics = validateScenario(parsed.scenario, { assumeNodes: parsed.unparsedNames });
  const validateMs = performance.now() - t;
  if (parsed.diagnostics.length + diagnostics.length > 0) throw new Error(`bench scenario has ${parsed.diagnostics.length + diagnostics.length} diagnostics`);
  return { readMs, parseMs, validateMs, statements: parsed.scenario.statements.length, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
}

/** In the child: one `blockdev-add` whose `filename` is a 10 MB string, through the monitor's streamer and parser. */
export async function measureQmpString(mb: number): Promise<Figures> {
  const { QmpJsonStreamer } = await import("../src/monitor/json-lexer.js");
  const { parseTokens } = await import("../src/monitor/json-parser.js");
  const input = Buffer.from(`{"execute": "blockdev-add", "arguments": {"driver": "file", "node-name": "n0", "filename": "${"x".repeat(mb * MB)}"}}\n`);
  const baseRss = process.resourceUsage().maxRSS / 1024;
  const t = performance.now();
  let parsed = 0;
  const streamer = new QmpJsonStreamer((m) => {
    if ("error" in m) throw new Error(`bench: ${m.error}`);
    const r = parseTokens(m.tokens);
    if ("error" in r) throw new Error(`bench: ${r.error}`);
    parsed++;
  });
  // As stdin delivers it: 64 KiB chunks.
  for (let at = 0; at < input.length; at += 65536) streamer.feed(input.subarray(at, at + 65536));
  if (parsed !== 1) throw new Error("bench: the command did not come out of the streamer");
  return { ms: performance.now() - t, baseRssMiB: baseRss, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
}

/** Run one export of this file in a child process; undefined with the reason when the child dies. */
function inChild(fn: "measureScenario" | "measureQmpString", arg: string | number): Figures | string {
  const self = fileURLToPath(import.meta.url);
  const code = `import(${JSON.stringify(self)}).then(async (m) => console.log(JSON.stringify(await m.${fn}(${JSON.stringify(arg)}))))`;
  try {
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
      encoding: "utf8",
      maxBuffer: 1 << 24,
      stdio: ["ignore", "pipe", "pipe"],
    });
    return JSON.parse(out.trim().split("\n").pop()!) as Figures;
  } catch (e) {
    const err = e as { status?: number; signal?: string; stderr?: string };
    const why = /heap out of memory|Maximum call stack/.exec(err.stderr ?? "")?.[0] ?? err.stderr?.trim().split("\n").pop() ?? "";
    return `failed (${err.signal ?? `exit ${err.status}`}: ${why})`;
  }
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "bc-bench-input-"));
  try {
    console.log("scenario files: read, parse, validate (each size in its own process)\n");
    console.log("| size | statements | read ms | parse ms | validate ms | peak RSS MiB |");
    console.log("|---|---|---|---|---|---|");
    for (const mb of SCENARIO_SIZES_MB) {
      const file = path.join(dir, `big-${mb}.scn`);
      writeFileSync(file, scenarioText(mb * MB));
      const f = inChild("measureScenario", file);
      if (typeof f === "string") console.log(`| ${mb} MB | ${f} |`);
      else console.log(`| ${mb} MB | ${f.statements} | ${f.readMs!.toFixed(0)} | ${f.parseMs!.toFixed(0)} | ${f.validateMs!.toFixed(0)} | ${f.peakRssMiB!.toFixed(0)} |`);
      rmSync(file);
    }
    console.log(`\nQMP monitor (src/monitor): one command with a ${QMP_STRING_MB} MB string, fed in 64 KiB chunks\n`);
    console.log("| string | lex + parse ms | RSS before MiB | peak RSS MiB |");
    console.log("|---|---|---|---|");
    const q = inChild("measureQmpString", QMP_STRING_MB);
    if (typeof q === "string") console.log(`| ${QMP_STRING_MB} MB | ${q} |`);
    else console.log(`| ${QMP_STRING_MB} MB | ${q.ms!.toFixed(0)} | ${q.baseRssMiB!.toFixed(0)} | ${q.peakRssMiB!.toFixed(0)} |`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
