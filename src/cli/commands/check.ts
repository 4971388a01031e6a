/**
 * `blockcheck check [PATH…]`: parse and validate scenario files, print every problem.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import type { Command } from "../command.js";
import { formatDiagnostics, loadScenario, ScenarioError, type Diagnostic } from "../../language/index.js";

/** Where `check` looks when given no path. */
export const DEFAULT_SCENARIO_DIR = "tests/scenarios";

export const check: Command = {
  name: "check",
  summary: "parse and validate scenario files",
  usage: "[PATH…]",
  description: [
    `Checks each scenario file (directories are searched recursively for *.scn; default: ${DEFAULT_SCENARIO_DIR})`,
    "without running anything: syntax, drivers and options against QEMU's schema, node names,",
    "paths, requirements, parameters and expectations. Every problem is printed as",
    "FILE:LINE:COL: error: MESSAGE with the source line and notes.",
    "",
    "Exit status: 0 when every file is valid, 1 when any is not, 2 when a path does not exist.",
  ].join("\n"),
  options: {},
  async run({ positionals }, io) {
    const given = positionals.length > 0 ? positionals : [DEFAULT_SCENARIO_DIR];
    const files: string[] = [];
    for (const p of given) {
      const abs = resolve(io.cwd, p);
      const info = await stat(abs).catch(() => undefined);
      if (!info) {
        io.stderr.write(`blockcheck check: error: no such file or directory: ${p}\n`);
        return 2;
      }
      if (info.isDirectory()) files.push(...(await scenarioFiles(abs)));
      else files.push(abs);
    }
    let invalid = 0;
    for (const abs of files) {
      const shown = display(abs, io.cwd);
      const text = await readFile(abs, "utf8");
      const diagnostics = diagnose(text, shown);
      if (diagnostics.length > 0) {
        invalid++;
        io.stdout.write(formatDiagnostics(diagnostics, text));
      }
    }
    const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
    io.stdout.write(
      invalid === 0 ? `${plural(files.length, "scenario file")} OK\n` : `${invalid} of ${plural(files.length, "scenario file")} invalid\n`,
    );
    return invalid === 0 ? 0 : 1;
  },
};

function diagnose(text: string, file: string): readonly Diagnostic[] {
  try {
    return loadScenario(text, file).diagnostics;
  } catch (e) {
    if (e instanceof ScenarioError) return e.diagnostics;
    throw e;
  }
}

/** Every *.scn below `dir`, sorted so output is stable. */
async function scenarioFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await scenarioFiles(full)));
    else if (e.isFile() && e.name.endsWith(".scn")) out.push(full);
  }
  return out;
}

/** The path as a user reads it: relative to the working directory when inside it, with "/". */
function display(abs: string, cwd: string): string {
  const rel = relative(cwd, abs);
  const shown = rel.startsWith("..") || isAbsolute(rel) ? abs : rel;
  return shown.split(sep).join("/");
}
