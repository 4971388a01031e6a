/**
 * Where a scenario's golden transcript lives, derived injectively so that no scenario, parameter
 * value or engine can name another's golden, and no golden leaves the golden root:
 *
 *   tests/scenarios/reopen/detach.scn            → golden/reopen/detach.out
 *   … with `each fmt in qcow2 raw`               → golden/reopen/detach.fmt=qcow2.out
 *   … engine-specific (documented divergences)   → golden/reopen/detach.model.out
 *
 * The rule: in every segment of the scenario path `%` and `.` are written `%25` and `%2E`, so the
 * file name's first `.` ends the scenario name (and no golden directory can be named like a
 * golden file). Parameters follow as `key=value` pairs joined by `,`, in which every byte outside
 * `A-Z a-z 0-9 _ + @ : ~ -` is `%XX`: a value can hold no `/`, `.`, `=` or `,` of its own, so it
 * can neither climb out of its directory nor end like an engine name. The engine part (`model`,
 * `qemu`) never holds `=`, the parameter part always does. Names of the corpus with none of these
 * characters are unchanged.
 */
import path from "node:path";
import type { EngineKind } from "../engines/engine.js";
import { GoldenNameError } from "./errors.js";

/** The engine a golden belongs to. */
export type EngineName = EngineKind;

export interface GoldenName {
  /** Scenario path relative to the scenario root, without `.scn`, with `/` separators. */
  name: string;
  /** Parameter values in declaration order ([] when the scenario has no parameters). */
  bindings: ReadonlyArray<readonly [string, string]>;
}

/** The golden name stem of a scenario (`reopen/detach`): its path with each segment encoded. */
export function goldenStem(name: string): string {
  // Nearly every name: plain segments, nothing to normalize or encode (checked once per run for
  // every scenario of the corpus, and path.posix.normalize was most of it).
  if (PLAIN_NAME.test(name)) return name;
  const normal = path.posix.normalize(name);
  if (name === "" || normal === "." || path.posix.isAbsolute(normal) || normal === ".." || normal.startsWith("../")) {
    throw new GoldenNameError(`scenario name '${name}' is not a path inside the scenario root`);
  }
  return normal
    .replace(/\/$/, "")
    .split("/")
    .map((segment) => segment.replace(/[%.]/g, (c) => (c === "%" ? "%25" : "%2E")))
    .join("/");
}

/** Segments of safe characters, none of them `.` or `..`, joined by single `/`. */
const PLAIN_NAME = /^[A-Za-z0-9_+@:~-]+(?:\/[A-Za-z0-9_+@:~-]+)*$/;

/** The golden path shared by all engines, relative to the golden root. */
export function commonGoldenPath(g: GoldenName): string {
  return `${base(g)}.out`;
}

/** The engine-specific golden path, relative to the golden root. */
export function engineGoldenPath(g: GoldenName, engine: EngineName): string {
  return `${base(g)}.${engine}.out`;
}

/** Every golden path `g` may read or write, relative to the golden root. */
export function goldenPaths(g: GoldenName): string[] {
  const b = base(g);
  return [`${b}.out`, `${b}.model.out`, `${b}.qemu.out`];
}

/**
 * The absolute path of a golden given relative to `root`; a GoldenNameError unless it resolves to
 * a file strictly inside the root (a second line of defence behind the encoding).
 */
export function resolveGoldenPath(root: string, rel: string): string {
  const abs = path.resolve(root, rel);
  const inside = path.relative(path.resolve(root), abs);
  if (inside === "" || inside === ".." || inside.startsWith(".." + path.sep) || path.isAbsolute(inside)) {
    throw new GoldenNameError(`golden path '${rel}' leaves the golden root ${root}`);
  }
  return abs;
}

function base(g: GoldenName): string {
  const stem = goldenStem(g.name);
  if (g.bindings.length === 0) return stem;
  return `${stem}.${g.bindings.map(([k, v]) => `${encodeParameter(k)}=${encodeParameter(v)}`).join(",")}`;
}

const PARAMETER_SAFE = /^[A-Za-z0-9_+@:~-]$/;

/** A parameter key or value for a file name: safe ASCII kept, every other byte `%XX`. */
export function encodeParameter(text: string): string {
  let out = "";
  for (const ch of text) {
    if (PARAMETER_SAFE.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch, "utf8")) out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
