/**
 * Before a run on the qemu engine: can its QEMU binaries be run at all? A missing QEMU, or a
 * `*_PROG` variable naming something that is not there or not executable, would otherwise fail
 * every scenario with the same message; checked once here, it stops the run (exit 2) with the
 * reason. Checked: each binary named explicitly (the configuration's `binaries`, or QSD_PROG,
 * QEMU_PROG, QEMU_IMG_PROG, QEMU_IO_PROG), and each default one the selected scenarios need
 * (qemu-storage-daemon, qemu-system for `io`, qemu-img for `image`).
 *
 * A relative path (`build/qemu-img`) is made absolute as the user meant it (a variable's against the
 * working directory, the configuration's against the project root); QEMU is started in its scratch
 * directory, where it would not be found.
 */
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import path from "node:path";
import { binaryVariable, resolveBinaries, type QemuBinaries } from "../engines/qemu/binaries.js";
import type { ScenarioInstance } from "./instance.js";
import { QemuUnavailableError } from "./errors.js";
import { neededFeatures } from "./requirements.js";

export interface QemuSetup {
  /** Binaries from the configuration (each wins over its variable). */
  given: Partial<QemuBinaries>;
  /** Where `given` comes from, for messages (e.g. `blockcheck.config.json`). */
  givenIn: string;
  /** Directory relative paths in `given` are relative to (the project root). */
  givenDir: string;
  /** The environment: the `*_PROG` variables and PATH. */
  env: Record<string, string | undefined>;
  /** Directory relative paths in the environment are relative to (the working directory). */
  cwd: string;
}

const KEYS = ["qsd", "qemu", "img", "io"] as const;

/** The binaries to run (relative paths made absolute); a QemuUnavailableError naming every problem. */
export async function checkQemuBinaries(instances: readonly ScenarioInstance[], setup: QemuSetup): Promise<QemuBinaries> {
  const chosen = resolveBinaries(setup.given, setup.env);
  const needed = neededBinaries(instances);
  const problems: string[] = [];
  const out = { ...chosen };
  for (const key of KEYS) {
    const variable = binaryVariable(key);
    const source = setup.given[key]
      ? `"binaries.${key}" in ${setup.givenIn} (${chosen[key]})`
      : setup.env[variable]
        ? `${variable}=${chosen[key]}`
        : `${chosen[key]} (${variable} is not set)`;
    const explicit = Boolean(setup.given[key] || setup.env[variable]);
    if (!explicit && !needed.has(key)) continue;
    if (chosen[key].includes("/")) out[key] = path.resolve(setup.given[key] ? setup.givenDir : setup.cwd, chosen[key]);
    const problem = await unusable(out[key], setup.env.PATH ?? "");
    if (problem) problems.push(`${source}: ${problem}`);
  }
  if (problems.length > 0) throw new QemuUnavailableError(problems);
  return out;
}

/** Which default binaries the instances need on the qemu engine. */
function neededBinaries(instances: readonly ScenarioInstance[]): Set<keyof QemuBinaries> {
  const needed = new Set<keyof QemuBinaries>();
  for (const inst of instances) {
    needed.add(neededFeatures(inst.scenario).has("io") ? "qemu" : "qsd");
    if (inst.scenario.statements.some((s) => s.type === "image")) needed.add("img");
  }
  return needed;
}

/** Why `binary` cannot be run, or undefined when it can (as far as the file system tells). */
async function unusable(binary: string, searchPath: string): Promise<string | undefined> {
  if (binary.includes("/")) return executableProblem(binary);
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir === "") continue;
    if ((await executableProblem(path.join(dir, binary))) === undefined) return undefined;
  }
  return "not found on PATH";
}

async function executableProblem(file: string): Promise<string | undefined> {
  const st = await stat(file).catch((e: NodeJS.ErrnoException) => e);
  if (st instanceof Error) return st.code === "ENOENT" || st.code === "ENOTDIR" ? "no such file" : `cannot be read (${st.code})`;
  if (st.isDirectory()) return "is a directory";
  if (!st.isFile()) return "is not a regular file";
  return access(file, constants.X_OK).then(
    () => undefined,
    () => "is not executable",
  );
}
