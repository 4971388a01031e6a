/** Paths a scenario writes are relative to its scratch directory and may never leave it. */
import path from "node:path";
import type { Location } from "../language/ast.js";
import { StepError } from "./errors.js";

/** The absolute path of `rel` inside `workdir`; a located error for absolute paths or `..` escapes. */
export function scratchPath(workdir: string, rel: string, location: Location): string {
  if (path.isAbsolute(rel)) {
    throw new StepError(`path '${rel}' must be relative to the scratch directory ($TEST_DIR)`, location);
  }
  const abs = path.resolve(workdir, rel);
  const inside = path.relative(workdir, abs);
  if (inside === "" || inside.startsWith("..") || path.isAbsolute(inside)) {
    throw new StepError(`path '${rel}' leaves the scratch directory`, location);
  }
  return abs;
}
