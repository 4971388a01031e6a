/**
 * The pending files (`.out.bad`, `.out.new`) that `accept` and `review` work on: all of them, or
 * those of the scenarios the PATH arguments select (named as `run` names them).
 */
import path from "node:path";
import { goldenStem } from "../golden/paths.js";
import { findPending, type PendingFile } from "../golden/pending.js";
import { discover, emptyPathsError, scenarioName } from "./discovery.js";

export interface PendingSelection {
  scenarioRoot: string;
  goldenRoot: string;
  /** PATH arguments (none: every pending file). */
  paths: readonly string[];
  cwd: string;
}

/** Pending files under the golden root, sorted, limited to the selected scenarios. */
export async function selectPending(opts: PendingSelection): Promise<PendingFile[]> {
  const pending = await findPending(opts.goldenRoot);
  if (opts.paths.length === 0) return pending;
  const { files, empty } = await discover(opts.scenarioRoot, opts.paths, opts.cwd);
  if (empty.length > 0) throw emptyPathsError(empty, opts.scenarioRoot, opts.cwd, false);
  // A scenario's goldens all start with its stem and a dot (paths.ts), and no other scenario's do.
  const stems = files.map((s) => goldenStem(scenarioName(s.rel)) + ".");
  return pending.filter((p) => {
    const rel = path.relative(opts.goldenRoot, p.file).split(path.sep).join("/");
    return stems.some((stem) => rel.startsWith(stem));
  });
}
