/**
 * The project a command works on: the nearest directory, from the working directory upwards, that
 * holds blockcheck.config.json or package.json (as npm and vitest find theirs), so that commands
 * work from any subdirectory. Without one, the working directory itself.
 */
import { stat } from "node:fs/promises";
import path from "node:path";

const MARKERS = ["blockcheck.config.json", "package.json"];

/** The project root for `cwd` (absolute). */
export async function findProjectRoot(cwd: string): Promise<string> {
  const start = path.resolve(cwd);
  for (let dir = start; ; dir = path.dirname(dir)) {
    for (const marker of MARKERS) {
      if (await stat(path.join(dir, marker)).then((s) => s.isFile(), () => false)) return dir;
    }
    if (path.dirname(dir) === dir) return start;
  }
}
