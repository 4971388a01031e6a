/**
 * What a case found, from its runs: nothing; a QEMU crash or hang the model already predicts (known,
 * not a finding); or a finding of one class with a key that says when two findings are the same failure.
 *
 * Order matters when a case shows several: a model exception first (a bug in our code stops the
 * model run early, so the transcripts differ anyway), then QEMU crashes and hangs, then a model
 * hang, and a divergence only when both engines ran to a transcript.
 */
import type { EngineKind } from "../engines/engine.js";
import { EngineCrashedError, EngineFailedError, WOULD_HANG_CODE } from "../engines/errors.js";
import { BlockcheckError } from "../errors.js";
import { crashKey, crashSignature, describeCrash, normalizeCrashText, sameCrash, type CrashSignature } from "./crash-signature.js";
import { divergenceKey } from "./divergence.js";
import type { CaseRun } from "./run-case.js";
import type { Failure } from "../runner/results.js";

export const FINDING_CLASSES = ["model-exception", "qemu-crash", "qemu-hang", "model-hang", "engine-error", "divergence"] as const;

/** What kind of failure a finding is. */
export type FindingClass = (typeof FINDING_CLASSES)[number];

export type Verdict =
  | { kind: "pass" }
  /** QEMU crashed and the model, predicting it, ended its transcript the same way. */
  | { kind: "known-crash"; crash: CrashSignature }
  /** QEMU hung and the model, predicting it, ended its transcript the same way. */
  | { kind: "known-hang"; command: string }
  | { kind: "finding"; cls: FindingClass; key: string; summary: string; crash?: CrashSignature };

/** What one engine's run shows, beyond its transcript. */
export interface RunAnalysis {
  crash?: CrashSignature;
  /** Why the run is considered hung. */
  hang?: string;
  /** The command in which the model stopped because QEMU would hang there (it answers no more). */
  foreseenHang?: string;
  /** An error that is neither a crash nor a hang: key and one line. */
  error?: { key: string; summary: string };
}

/** Error codes that mean the engine stopped answering. */
const HANG_CODES = new Set(["E_QEMU_TIMEOUT", "E_QMP_EVENT_TIMEOUT", "E_QEMU_CONNECTION", "E_TIMEOUT"]);

/** Error codes of the model's refusals to say what QEMU does: no bug of the model's. */
export const MODEL_REFUSALS: ReadonlySet<string> = new Set(["E_MODEL_UNSUPPORTED", "E_MODEL_IO_UNSUPPORTED"]);

/** The first frame of a JavaScript stack, as `function (file)`. */
function firstJsFrame(stack: string | undefined): string | undefined {
  const m = /\n\s+at (?:(\S+) \()?(?:[^()\s]*\/)?([^/():\s]+):\d+:\d+\)?/.exec(stack ?? "");
  return m ? `${m[1] ?? "<anonymous>"} (${m[2]})` : undefined;
}

function describeError(e: unknown): { key: string; summary: string } {
  if (e instanceof Error) {
    const first = e.message.split("\n")[0]!;
    const code = e instanceof BlockcheckError ? `${e.code} ` : "";
    const frame = e instanceof BlockcheckError ? undefined : firstJsFrame(e.stack);
    return { key: `${e.name} ${code}${normalizeCrashText(first)}${frame ? ` at ${frame}` : ""}`, summary: `${e.name}: ${first}${frame ? ` (at ${frame})` : ""}` };
  }
  return { key: `thrown ${normalizeCrashText(String(e))}`, summary: `thrown: ${String(e)}` };
}

/** A bug the runner reported as the run's failure: its stack's first line and frame, as describeError keys a throw. */
function describeBug(f: Failure): { key: string; summary: string } {
  const head = (f.details ?? f.message).split("\n")[0]!;
  const m = /^(\w+): (.*)$/.exec(head);
  const [name, first] = m ? [m[1]!, m[2]!] : ["Error", head];
  const frame = firstJsFrame(f.details);
  return { key: `${name} ${normalizeCrashText(first)}${frame ? ` at ${frame}` : ""}`, summary: `${name}: ${first}${frame ? ` (at ${frame})` : ""}` };
}

/** Look at one run; `siteOf` asks the kernel where a process segfaulted. */
function analyzeRun(run: CaseRun, siteOf: (pid: number) => string | undefined): RunAnalysis {
  const out: RunAnalysis = {};
  const { seen } = run;
  const logTail = seen.stop && "logTail" in seen.stop ? seen.stop.logTail : "";
  if (seen.crash || seen.stop?.kind === "crashed") {
    const exit = seen.crash?.exit ?? (seen.stop?.kind === "crashed" ? seen.stop.exit : undefined);
    const site = exit?.signal === "SIGSEGV" && seen.pid !== undefined ? siteOf(seen.pid) : undefined;
    out.crash = crashSignature({ exit, command: seen.crash?.command ?? "quit", log: logTail, ...(site !== undefined ? { site } : {}) });
  }
  const errors = [run.thrown, seen.error].filter((e) => e !== undefined && !(e instanceof EngineCrashedError));
  for (const e of errors) {
    if (e instanceof BlockcheckError && HANG_CODES.has(e.code)) out.hang ??= e.message.split("\n")[0]!;
    else if (e instanceof EngineFailedError && e.code === WOULD_HANG_CODE) out.foreseenHang ??= e.command;
    else out.error ??= describeError(e);
  }
  for (const f of run.failures) {
    if (f.kind === "timeout") out.hang ??= f.message;
    // A bug the runner caught outside the engine (one in the engine is seen.error above).
    if (f.internal) out.error ??= describeBug(f);
    // The runner's own errors (a failed graph query, a full disk) have a code and no statement.
    const code = f.kind === "error" && f.source === undefined ? /^(E_[A-Z_]+): /.exec(f.message)?.[1] : undefined;
    if (code === undefined || code === "E_QEMU_CRASHED" || MODEL_REFUSALS.has(code)) continue;
    if (HANG_CODES.has(code)) out.hang ??= f.message.split("\n")[0]!;
    else out.error ??= { key: `${code} ${normalizeCrashText(f.message.split("\n")[0]!)}`, summary: f.message.split("\n")[0]! };
  }
  // The model ends as a killed QEMU where it foresees a hang; that is a prediction, not a hang of its own.
  if (seen.stop?.kind === "killed" && out.foreseenHang === undefined) out.hang ??= `killed: ${seen.stop.reason}`;
  return out;
}

/**
 * A QEMU the scenario's own timeout stopped in a step, as one its command timeout killed there: the
 * two timeouts are equal in a fuzz run, and which fires first is chance.
 */
function killedAtTimeout(transcript: string | undefined): string | undefined {
  return transcript?.replace(/\n {2}\(timed out\)\n\(run stopped\)\n$/, "\n  QEMU hung and was killed\n(run stopped)\n");
}

/** The verdict of a case from its runs (one per engine that ran). */
export function classify(runs: Partial<Record<EngineKind, CaseRun>>, siteOf: (pid: number) => string | undefined): Verdict {
  const model = runs.model && analyzeRun(runs.model, siteOf);
  const qemu = runs.qemu && analyzeRun(runs.qemu, siteOf);
  const finding = (cls: FindingClass, key: string, summary: string, crash?: CrashSignature): Verdict => ({
    kind: "finding",
    cls,
    key: `${cls} ${key}`,
    summary,
    ...(crash ? { crash } : {}),
  });
  if (model?.error) return finding("model-exception", model.error.key, model.error.summary);
  // The model cannot tell how QEMU ends: whatever QEMU did at quit agrees with it, and only what
  // came before is compared.
  if (runs.model?.seen.stop?.kind === "unknown" && (!runs.qemu || beforeQuit(runs.model.transcript) === beforeQuit(runs.qemu.transcript))) {
    return { kind: "pass" };
  }
  if (qemu?.crash) {
    const agree = runs.model?.transcript !== undefined && runs.model.transcript === runs.qemu!.transcript;
    if (agree) return { kind: "known-crash", crash: qemu.crash };
    return finding("qemu-crash", crashKey(qemu.crash), describeCrash(qemu.crash), qemu.crash);
  }
  if (qemu?.hang && model?.foreseenHang !== undefined && runs.model!.transcript !== undefined && runs.model!.transcript === killedAtTimeout(runs.qemu!.transcript)) {
    return { kind: "known-hang", command: model.foreseenHang };
  }
  // A hang at quit the model foresees: it stops as a QEMU killed there, with nothing before it differing.
  const foreseenAtQuit = runs.model?.seen.stop?.kind === "killed" && model?.foreseenHang === undefined;
  if (qemu?.hang && foreseenAtQuit && runs.model!.transcript !== undefined && runs.model!.transcript === runs.qemu!.transcript) {
    return { kind: "known-hang", command: "quit" };
  }
  if (qemu?.hang) return finding("qemu-hang", normalizeCrashText(qemu.hang), `QEMU hung: ${qemu.hang}`);
  if (qemu?.error) return finding("engine-error", `qemu ${qemu.error.key}`, `qemu engine: ${qemu.error.summary}`);
  if (model?.hang) return finding("model-hang", normalizeCrashText(model.hang), `the model hung: ${model.hang}`);
  if (model?.crash && !runs.qemu) return { kind: "known-crash", crash: model.crash };
  const q = runs.qemu?.transcript;
  const m = runs.model?.transcript;
  if (q !== undefined && m !== undefined && q !== m) {
    const d = divergenceKey(q, m);
    return finding("divergence", d.key, d.summary);
  }
  return { kind: "pass" };
}

/** A transcript without the block the runner adds for how the engine ended at quit. */
function beforeQuit(transcript: string | undefined): string | undefined {
  const at = transcript?.lastIndexOf("\n(quit)\n") ?? -1;
  return at < 0 ? transcript : transcript!.slice(0, at + 1);
}

/**
 * Whether `candidate` fails the way `target` does: same class and key; for a crash, the same
 * signature in the same command. One bug that QEMU can be made to hit from two commands (a use
 * after free met in blockdev-del, or at quit) is two findings, each with its own reproducer; the
 * summary says when they share a crash site. The shrinker holds candidates to the same rule, so a
 * scenario shrunk from a crash in blockdev-del still crashes in blockdev-del.
 */
export function sameFailure(target: Extract<Verdict, { kind: "finding" }>, candidate: Verdict): boolean {
  if (candidate.kind !== "finding" || candidate.cls !== target.cls) return false;
  if (target.crash && candidate.crash) return sameCrash(target.crash, candidate.crash) && target.crash.command === candidate.crash.command;
  return candidate.key === target.key;
}
