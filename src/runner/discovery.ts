/**
 * Finding scenario files: by default every `**\/*.scn` under the scenario root. A positional PATH
 * is looked up as the user might mean it, first relative to the working directory, then relative
 * to the scenario root, so `tests/scenarios/reopen`, `reopen` and `reopen/` all name the same
 * directory, and `reopen/detach` the file `reopen/detach.scn`. A PATH with glob syntax (`*`, `?`,
 * `[…]`, `{a,b}`) is a glob over scenario names (`reopen/*`, `**\/detach*`, `reopen/{cycles,filters}`).
 *
 * `run`, `accept` and `review` take only scenarios under the scenario root (a golden's name comes
 * from the path under it); `check` validates any scenario file it is pointed at. Both report a PATH
 * that names nothing the same way (a usage error), and say which PATHs select no scenario.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import picomatch from "picomatch";
import { UsageError } from "../errors.js";
import { walk } from "../golden/walk.js";
import { NoScenarioSelectedError } from "./errors.js";
import { relativeSlashed } from "../relative-path.js";

/** A discovered scenario file. */
export interface ScenarioFile {
  /** Absolute path. */
  abs: string;
  /** Path relative to the scenario root, `/`-separated, with `.scn` (`reopen/detach.scn`); for a file outside it, its base name. */
  rel: string;
}

/** What the PATH arguments select. */
export interface Discovery {
  files: ScenarioFile[];
  /** The PATHs that exist (or are globs) but select no scenario. */
  empty: string[];
}

export interface DiscoverOptions {
  /** Accept scenario files and directories outside the scenario root (check), or refuse them (run). */
  outsideRoot: "allow" | "refuse";
}

/** Every scenario under `root`, sorted by relative path. */
export async function discoverAll(root: string): Promise<ScenarioFile[]> {
  return (await scenariosUnder(root)).map((abs) => ({ abs, rel: toRel(root, abs) }));
}

/** The scenarios the positional arguments select (all under the root when there are none). */
export async function discover(root: string, args: readonly string[], cwd: string, opts: DiscoverOptions = { outsideRoot: "refuse" }): Promise<Discovery> {
  const all = await discoverAll(root);
  if (args.length === 0) return { files: all, empty: [] };
  const chosen = new Map<string, ScenarioFile>();
  const empty: string[] = [];
  for (const arg of args) {
    const hits = await select(arg, root, all, cwd, opts);
    if (hits.length === 0) empty.push(arg);
    for (const h of hits) chosen.set(h.abs, h);
  }
  return { files: sortFiles([...chosen.values()]), empty };
}

async function select(arg: string, root: string, all: readonly ScenarioFile[], cwd: string, opts: DiscoverOptions): Promise<ScenarioFile[]> {
  if (isGlob(arg)) {
    const re = globToRegExp(arg.replace(/\/+$/, "/**").replace(/\.scn$/, ""));
    return all.filter((s) => re.test(scenarioName(s.rel)));
  }
  const candidates = [...new Set([path.resolve(cwd, arg), path.resolve(root, arg)])];
  for (const abs of candidates) {
    const st = await stat(abs).catch(() => undefined);
    if (st?.isDirectory()) return directory(abs, root, all, opts);
    if (st?.isFile()) return [file(arg, abs, root, all, cwd, opts)];
  }
  // A scenario named without its extension.
  for (const abs of candidates) {
    if (await stat(abs + ".scn").then((s) => s.isFile(), () => false)) return [file(arg, abs + ".scn", root, all, cwd, opts)];
  }
  throw new NoSuchPathError(arg, root, cwd);
}

async function directory(abs: string, root: string, all: readonly ScenarioFile[], opts: DiscoverOptions): Promise<ScenarioFile[]> {
  const under = all.filter((s) => s.abs === abs || s.abs.startsWith(abs + path.sep));
  if (opts.outsideRoot === "refuse" || isInside(abs, root)) return [...under];
  // Outside the root (check only): every scenario file below the directory, the root's included.
  return (await scenariosUnder(abs)).map((f) => all.find((s) => s.abs === f) ?? { abs: f, rel: path.basename(f) });
}

function file(arg: string, abs: string, root: string, all: readonly ScenarioFile[], cwd: string, opts: DiscoverOptions): ScenarioFile {
  if (!abs.endsWith(".scn")) throw new UsageError(`'${arg}' is not a scenario file (.scn)`);
  const known = all.find((s) => s.abs === abs);
  if (known) return known;
  if (opts.outsideRoot === "allow") return { abs, rel: path.basename(abs) };
  return outside(arg, root, cwd);
}

/** The error for PATHs that exist (or are globs) but select no scenario; the same for every command. */
export function emptyPathsError(empty: readonly string[], root: string, cwd: string, passWithNone = true): NoScenarioSelectedError {
  const quoted = empty.map((a) => `'${a}'`).join(", ");
  return new NoScenarioSelectedError(`${quoted} ${empty.length === 1 ? "selects" : "select"} no scenario under ${shownDir(root, cwd)}`, passWithNone);
}

/** A PATH that is neither a file, a directory nor a glob, relative to the working directory or the scenario root. */
export class NoSuchPathError extends UsageError {
  constructor(
    readonly arg: string,
    root: string,
    cwd: string,
  ) {
    super(`no such file or directory: ${arg} (looked for it in ${shownDir(cwd, cwd)} and in the scenario root ${shownDir(root, cwd)})`);
  }
}

function shownDir(dir: string, cwd: string): string {
  const rel = path.relative(cwd, dir);
  return rel === "" ? "." : rel.startsWith("..") ? dir : rel;
}

async function scenariosUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  await walk(dir, (f) => {
    if (f.endsWith(".scn")) out.push(f);
  });
  return out.sort();
}

function sortFiles(files: ScenarioFile[]): ScenarioFile[] {
  return files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : a.abs < b.abs ? -1 : a.abs > b.abs ? 1 : 0));
}

function isInside(dir: string, root: string): boolean {
  const rel = path.relative(root, dir);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

function toRel(root: string, abs: string): string {
  return relativeSlashed(root, abs);
}

/**
 * A scenario file that is not under the root (or is hidden from the walk, e.g. behind a symbolic
 * link): its golden would have no name of its own — two such `same.scn` would share one — so it is
 * refused.
 */
function outside(arg: string, root: string, cwd: string): never {
  const shownRoot = path.relative(cwd, root) || ".";
  throw new UsageError(
    `'${arg}' is outside the scenario root ${shownRoot}: its golden file would have no name of its own; ` +
      `move it under ${shownRoot} (or set "scenarios" in blockcheck.config.json)`,
  );
}

/** A scenario's name: its path under the root without `.scn` (`reopen/detach`). */
export function scenarioName(rel: string): string {
  return rel.replace(/\.scn$/, "");
}

/** Whether a PATH is written as a glob (picomatch's reading: `*`, `?`, `[…]`, `{a,b}`, extglobs). */
export function isGlob(arg: string): boolean {
  return picomatch.scan(arg).isGlob;
}

/**
 * A glob as a RegExp over scenario names, by picomatch (the matcher of fast-glob and tinyglobby):
 * `*` within a path segment, `**` across segments (`**\/x` also matches `x`), `?`, classes, braces.
 * Names starting with `.` match too: every file the walk finds is a scenario.
 */
export function globToRegExp(glob: string): RegExp {
  return picomatch.makeRe(glob, { dot: true });
}
