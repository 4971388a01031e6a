/**
 * `path.relative` for the runner's hot paths, where both sides are normalized absolute paths (the
 * working directory, and paths the scenario walk joined below a root): a path below `from` is a
 * slice of it. `path.relative` resolves both sides again every call, 4% of a run the result cache
 * answers for 10,000 files.
 */
import path from "node:path";

export function relativePath(from: string, to: string): string {
  const prefix = from.endsWith(path.sep) ? from : from + path.sep;
  if (to.startsWith(prefix) && to.length > prefix.length) return to.slice(prefix.length);
  return path.relative(from, to);
}

/** The relative path from `from` to `to`, `/`-separated as scenario names and goldens are. */
export function relativeSlashed(from: string, to: string): string {
  const rel = relativePath(from, to);
  return path.sep === "/" ? rel : rel.split(path.sep).join("/");
}
