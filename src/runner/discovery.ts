/**
 * Finding scenario files: by default every `**\/*.scn` under the scenario root; positional PATHs
 * select files or directories, and a PATH that is neither is a glob over scenario names
 * (`reopen/*`, `**\/detach*`).
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { walk } from "../golden/accept.js";
import { UsageError } from "../errors.js";

/** A discovered scenario file. */
export interface ScenarioFile {
  /** Absolute path. */
  abs: string;
  /** Path relative to the scenario root, `/`-separated, with `.scn` (`reopen/detach.scn`). */
  rel: string;
}

/** Every scenario under `root`, sorted by relative path. */
export async function discoverAll(root: string): Promise<ScenarioFile[]> {
  const out: ScenarioFile[] = [];
  await walk(root, (f) => {
    if (f.endsWith(".scn")) out.push({ abs: f, rel: toRel(root, f) });
  });
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** The scenarios the positional arguments select (all when there are none). */
export async function discover(root: string, args: readonly string[], cwd: string): Promise<ScenarioFile[]> {
  const all = await discoverAll(root);
  if (args.length === 0) return all;
  const chosen = new Map<string, ScenarioFile>();
  for (const arg of args) {
    const abs = path.resolve(cwd, arg);
    const st = await stat(abs).catch(() => undefined);
    let hits: ScenarioFile[];
    if (st?.isDirectory()) hits = all.filter((s) => s.abs.startsWith(abs + path.sep));
    else if (st?.isFile()) {
      if (!abs.endsWith(".scn")) throw new UsageError(`'${arg}' is not a scenario file (.scn)`);
      hits = [all.find((s) => s.abs === abs) ?? outside(arg, root, cwd)];
    } else {
      const re = globToRegExp(arg.replace(/\.scn$/, ""));
      hits = all.filter((s) => re.test(s.rel.replace(/\.scn$/, "")));
    }
    if (hits.length === 0) throw new UsageError(`'${arg}' matches no scenario under ${path.relative(cwd, root) || "."}`);
    for (const h of hits) chosen.set(h.abs, h);
  }
  return [...chosen.values()].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

function toRel(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join("/");
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

/** `*` within a path segment, `**` across segments, `?` one character. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      re += ".*";
      i++;
      if (glob[i + 1] === "/") i++;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}
