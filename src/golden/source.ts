/**
 * Whose transcripts a golden holds. An engine-specific golden (`P.model.out`) holds its engine's;
 * the common golden holds the project's reference engine's: the one its configuration names
 * (`engine`, default model), or QEMU when that is `both` (QEMU is the reference, and with both
 * engines only its transcripts are written). A pending file from any other engine would put that
 * engine's output in place of the reference's, so accept and review refuse it unless asked.
 */
import type { EngineKind } from "../engines/engine.js";
import type { PendingFile } from "./pending.js";

/** The engine a project's common goldens come from, given its configured engine choice. */
export function referenceEngine(configured: EngineKind | "both"): EngineKind {
  return configured === "both" ? "qemu" : configured;
}

export interface AcceptPolicy {
  /** The project's reference engine (see referenceEngine). */
  reference: EngineKind;
  /** Also accept pending files written by this engine (`--from-engine`). */
  fromEngine?: EngineKind;
  /** Accept whatever wrote them, however stale (`--force`). */
  force: boolean;
}

/** Why a pending file may not be promoted: its origin is unknown, another engine wrote it, or its golden moved on. */
export interface Refusal {
  why: "record" | "engine" | "stale";
  message: string;
}

/**
 * Why `p` may not be promoted under `policy` (undefined when it may). `currentGoldenSha` is the
 * sha256 of the golden now on disk (undefined when there is none).
 */
export function refusal(p: PendingFile, policy: AcceptPolicy, currentGoldenSha: string | undefined): Refusal | undefined {
  if (policy.force) return undefined;
  if (!p.record) return { why: "record", message: `${p.recordProblem ?? "no record of who wrote it"}; accept it with --force if you trust it` };
  const source = p.record.goldenEngine ?? policy.reference;
  if (p.record.engine !== source && p.record.engine !== policy.fromEngine) {
    return {
      why: "engine",
      message:
        `written by the ${p.record.engine} engine, but this golden holds the ${source} engine's transcripts; ` +
        `accept it with --from-engine ${p.record.engine}`,
    };
  }
  if (p.record.goldenSha256 !== currentGoldenSha) {
    const now = currentGoldenSha === undefined ? "was removed" : p.record.goldenSha256 === undefined ? "was created" : "changed";
    return { why: "stale", message: `the golden ${now} after this file was written (run the scenario again, or accept it with --force)` };
  }
  return undefined;
}
