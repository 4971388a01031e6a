/**
 * Checking one transcript against its golden file — the golden workflow in one function:
 *
 * - an engine-specific golden (`NAME.model.out`) wins over the common one, but must start with a
 *   `# reason:` line;
 * - equal: pass, and stale pending files (`.out.bad`, `.out.new`) are removed;
 * - different: fail with a unified diff and write `.out.bad` beside the golden, with the record of
 *   which engine and run wrote it (pending.ts) — or, with `update`, rewrite the golden atomically
 *   (only then, and only that one);
 * - missing: fail, and write the transcript as `.out.new` for review — or, with `update`, create it;
 * - with `ci` nothing is ever written or removed, whatever `update` says; a missing golden fails
 *   naming the command that creates it;
 * - a file-system failure (read-only directory, full disk, no permission) is this golden's result,
 *   naming the file; a mismatch whose `.out.bad` cannot be written keeps its diff.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { FileSystemError } from "../file-errors.js";
import { renderDiff } from "./diff.js";
import { joinEngineGolden, splitEngineGolden } from "./engine-specific.js";
import { commonGoldenPath, engineGoldenPath, resolveGoldenPath, type EngineName, type GoldenName } from "./paths.js";
import { removePending, textSha256, writePending, type PendingKind, type PendingRecord } from "./pending.js";
import type { GoldenListing } from "./listing.js";
import { readIfExists, writeAtomic } from "./store.js";

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
  /**
   * Whether a difference or a missing golden writes a pending file (default true). With both
   * engines only QEMU's transcripts are written, so the model's do not overwrite QEMU's.
   */
  writePending?: boolean;
  /** Who is writing: recorded beside each pending file. */
  provenance?: Provenance;
  /**
   * Why `--update` was asked for but this golden may not be written (CI mode, the run's own
   * expectations failed): a missing golden then says so instead of suggesting `--update` again.
   */
  updateRefused?: string;
  /** The run's listing of golden directories: an engine-specific golden it does not name is not read. */
  listing?: GoldenListing;
}

/** The run and scenario a pending file comes from (see PendingRecord). */
export interface Provenance {
  run: string;
  engineVersion?: string;
  /** Scenario file relative to the project root. */
  scenario: string;
  /** `name[suffix]`. */
  instance: string;
}

export type GoldenResult =
  | { status: "match"; file: string; engineReason?: string }
  | { status: "created" | "updated"; file: string; engineReason?: string }
  | { status: "mismatch"; file: string; diff: string; badFile?: string; badError?: string; engineReason?: string }
  | { status: "missing"; file: string; message: string; pendingFile?: string; pendingError?: string }
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
  const specificRel = engineGoldenPath(opts.golden, opts.engine);
  const commonRel = commonGoldenPath(opts.golden);
  const specificAbs = resolveGoldenPath(opts.goldenRoot, specificRel);
  const commonAbs = resolveGoldenPath(opts.goldenRoot, commonRel);
  const writable = opts.update && !opts.ci;
  const pendingAllowed = !opts.ci && opts.writePending !== false;

  /** Write `body` as the pending file of `golden`; the path written, or why it could not be. */
  const pending = async (
    abs: string,
    rel: string,
    kind: PendingKind,
    body: string,
    golden: string | undefined,
    specific: boolean,
  ): Promise<{ file: string } | { error: string }> => {
    const p = opts.provenance;
    const record: PendingRecord = {
      kind,
      engine: opts.engine,
      ...(p?.engineVersion !== undefined ? { engineVersion: p.engineVersion } : {}),
      run: p?.run ?? `pid ${process.pid}`,
      scenario: p?.scenario ?? opts.scenarioArg,
      instance: p?.instance ?? opts.golden.name,
      golden: rel,
      ...(specific ? { goldenEngine: opts.engine } : {}),
      ...(golden !== undefined ? { goldenSha256: textSha256(golden) } : {}),
    };
    try {
      return { file: show(await writePending(abs, kind, body, record)) };
    } catch (e) {
      if (!(e instanceof FileSystemError)) throw e;
      return { error: e.describe(show) };
    }
  };

  const specific = opts.listing?.mayHold(specificAbs) === false ? undefined : await readIfExists(specificAbs);
  if (specific !== undefined) {
    const split = splitEngineGolden(specific);
    if (split.reason === undefined) {
      return {
        status: "invalid",
        file: show(specificAbs),
        message: `engine-specific golden ${show(specificAbs)} must start with a '# reason: …' line`,
      };
    }
    return compare(specificAbs, specificRel, specific, split.transcript, (t) => joinEngineGolden(split.reason!, t), split.reason);
  }
  const common = await readIfExists(commonAbs, true);
  if (common === undefined) {
    if (writable) {
      await writeAtomic(commonAbs, opts.actual);
      await removePending(commonAbs);
      return { status: "created", file: show(commonAbs) };
    }
    const create = `npx blockcheck run --update ${opts.scenarioArg}`;
    if (opts.updateRefused !== undefined) {
      const message = `golden file ${show(commonAbs)} is missing, and --update did not create it: ${opts.updateRefused}`;
      if (!pendingAllowed) return { status: "missing", file: show(commonAbs), message };
      const written = await pending(commonAbs, commonRel, "new", opts.actual, undefined, false);
      return "error" in written
        ? { status: "missing", file: show(commonAbs), message, pendingError: written.error }
        : { status: "missing", file: show(commonAbs), message: `${message}; the transcript is pending in ${written.file}`, pendingFile: written.file };
    }
    if (!pendingAllowed) {
      return { status: "missing", file: show(commonAbs), message: `golden file ${show(commonAbs)} is missing; create it with: ${create}` };
    }
    const written = await pending(commonAbs, commonRel, "new", opts.actual, undefined, false);
    if ("error" in written) {
      return {
        status: "missing",
        file: show(commonAbs),
        message: `golden file ${show(commonAbs)} is missing; create it with: ${create}`,
        pendingError: written.error,
      };
    }
    return {
      status: "missing",
      file: show(commonAbs),
      message:
        `golden file ${show(commonAbs)} is missing; the transcript is pending in ${written.file}: ` +
        `review it with 'npx blockcheck review', or create the golden with: ${create}`,
      pendingFile: written.file,
    };
  }
  return compare(commonAbs, commonRel, common, common, (t) => t, undefined);

  async function compare(
    abs: string,
    rel: string,
    fileText: string,
    expected: string,
    compose: (transcript: string) => string,
    engineReason: string | undefined,
  ): Promise<GoldenResult> {
    const extra = engineReason === undefined ? {} : { engineReason };
    if (expected === opts.actual) {
      if (!opts.ci) await removePending(abs);
      return { status: "match", file: show(abs), ...extra };
    }
    if (writable) {
      await writeAtomic(abs, compose(opts.actual));
      await removePending(abs);
      return { status: "updated", file: show(abs), ...extra };
    }
    const diff = renderDiff(expected, opts.actual, {
      expectedLabel: show(abs),
      actualLabel: `actual (${opts.engine})`,
      color: opts.color,
    });
    if (!pendingAllowed) return { status: "mismatch", file: show(abs), diff, ...extra };
    const written = await pending(abs, rel, "mismatch", compose(opts.actual), fileText, engineReason !== undefined);
    if ("error" in written) return { status: "mismatch", file: show(abs), diff, badError: written.error, ...extra };
    return { status: "mismatch", file: show(abs), diff, badFile: written.file, ...extra };
  }
}

/**
 * The golden a run of `engine` is compared with (the engine-specific one when it exists), shown
 * relative to `cwd`: for naming it when the run did not get as far as comparing.
 */
export async function goldenFileFor(goldenRoot: string, golden: GoldenName, engine: EngineName, cwd: string): Promise<string> {
  const specific = resolveGoldenPath(goldenRoot, engineGoldenPath(golden, engine));
  const exists = await stat(specific).then(() => true, () => false);
  const abs = exists ? specific : resolveGoldenPath(goldenRoot, commonGoldenPath(golden));
  return path.relative(cwd, abs) || abs;
}
