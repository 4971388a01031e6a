/**
 * Checking one transcript against its golden file — the golden workflow in one function:
 *
 * - an engine-specific golden (`NAME.model.out`) wins over the common one, but must start with a
 *   `# reason:` line;
 * - equal: pass, and a stale `.out.bad` is removed;
 * - different: fail with a unified diff and write `.out.bad` beside the golden — or, with `update`,
 *   rewrite the golden atomically (only then, and only that one);
 * - missing: fail naming the command that creates it — or, with `update`, create it;
 * - with `ci` nothing is ever written or removed, whatever `update` says;
 * - a file-system failure (read-only directory, full disk, no permission) is this golden's result,
 *   naming the file; a mismatch whose `.out.bad` cannot be written keeps its diff.
 */
import path from "node:path";
import { FileSystemError } from "../file-errors.js";
import { renderDiff } from "./diff.js";
import { joinEngineGolden, splitEngineGolden } from "./engine-specific.js";
import { badPath, commonGoldenPath, engineGoldenPath, resolveGoldenPath, type EngineName, type GoldenName } from "./paths.js";
import { readIfExists, removeIfExists, writeAtomic } from "./store.js";

export interface GoldenCheckOptions {
  /** Absolute golden root directory. */
  goldenRoot: string;
  golden: GoldenName;
  engine: EngineName;
  /** The transcript just produced. */
  actual: string;
  /** Rewrite goldens that differ or are missing. */
  update: boolean;
  /** CI mode: never write. */
  ci: boolean;
  /** Colour the diff. */
  color: boolean;
  /** Directory paths in messages are relative to. */
  cwd: string;
  /** The scenario path to put in "create it with …" hints, as the user would type it. */
  scenarioArg: string;
}

export type GoldenResult =
  | { status: "match"; file: string; engineReason?: string }
  | { status: "created" | "updated"; file: string; engineReason?: string }
  | { status: "mismatch"; file: string; diff: string; badFile?: string; badError?: string; engineReason?: string }
  | { status: "missing"; file: string; message: string }
  | { status: "invalid"; file: string; message: string }
  | { status: "error"; file: string; message: string };

/** Compare (and, when asked and allowed, write) one golden. */
export async function checkGolden(opts: GoldenCheckOptions): Promise<GoldenResult> {
  const show = (abs: string) => path.relative(opts.cwd, abs) || abs;
  try {
    return await check(opts, show);
  } catch (e) {
    if (!(e instanceof FileSystemError)) throw e;
    return { status: "error", file: show(e.path), message: e.describe(show) };
  }
}

async function check(opts: GoldenCheckOptions, show: (abs: string) => string): Promise<GoldenResult> {
  const specificAbs = resolveGoldenPath(opts.goldenRoot, engineGoldenPath(opts.golden, opts.engine));
  const commonAbs = resolveGoldenPath(opts.goldenRoot, commonGoldenPath(opts.golden));
  const writable = opts.update && !opts.ci;

  const specific = await readIfExists(specificAbs);
  if (specific !== undefined) {
    const split = splitEngineGolden(specific);
    if (split.reason === undefined) {
      return {
        status: "invalid",
        file: show(specificAbs),
        message: `engine-specific golden ${show(specificAbs)} must start with a '# reason: …' line`,
      };
    }
    return compare(specificAbs, split.transcript, (t) => joinEngineGolden(split.reason!, t), split.reason);
  }
  const common = await readIfExists(commonAbs);
  if (common === undefined) {
    if (writable) {
      await writeAtomic(commonAbs, opts.actual);
      await removeIfExists(badPath(commonAbs));
      return { status: "created", file: show(commonAbs) };
    }
    return {
      status: "missing",
      file: show(commonAbs),
      message: `golden file ${show(commonAbs)} is missing; create it with: npx blockcheck run --update ${opts.scenarioArg}`,
    };
  }
  return compare(commonAbs, common, (t) => t, undefined);

  async function compare(
    abs: string,
    expected: string,
    compose: (transcript: string) => string,
    engineReason: string | undefined,
  ): Promise<GoldenResult> {
    const bad = badPath(abs);
    const extra = engineReason === undefined ? {} : { engineReason };
    if (expected === opts.actual) {
      if (!opts.ci) await removeIfExists(bad);
      return { status: "match", file: show(abs), ...extra };
    }
    if (writable) {
      await writeAtomic(abs, compose(opts.actual));
      await removeIfExists(bad);
      return { status: "updated", file: show(abs), ...extra };
    }
    const diff = renderDiff(expected, opts.actual, {
      expectedLabel: show(abs),
      actualLabel: `actual (${opts.engine})`,
      color: opts.color,
    });
    if (opts.ci) return { status: "mismatch", file: show(abs), diff, ...extra };
    try {
      await writeAtomic(bad, compose(opts.actual));
    } catch (e) {
      if (!(e instanceof FileSystemError)) throw e;
      return { status: "mismatch", file: show(abs), diff, badError: e.describe(show), ...extra };
    }
    return { status: "mismatch", file: show(abs), diff, badFile: show(bad), ...extra };
  }
}
