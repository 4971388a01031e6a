/**
 * Per-run state shared by the steps of one scenario run on one engine: the engine, the scratch
 * directory, tracked reopen options, exports, the current phase. One per run; never shared.
 */
import type { Engine } from "../engines/engine.js";
import type { Location, Statement } from "../language/ast.js";
import type { ExportRef } from "../transcript/labels.js";
import type { Failure } from "./results.js";
import { EventJournal } from "./event-journal.js";
import { OptionTracker } from "./option-tracker.js";
import type { PictureBook } from "./steps/show-picture.js";

export interface StepContext {
  engine: Engine;
  /** Absolute scratch directory ($TEST_DIR). */
  workdir: string;
  /** The scratch directory as given and as resolved (for $TEST_DIR normalization). */
  scratchDirs: string[];
  /** Scenario file as shown in messages. */
  file: string;
  /**
   * False while the scratch directory exists only as a name (a model run: scratch.ts planScratch):
   * nothing is on disk in it, so no symbolic link can lead out of it. Absent: it is on disk.
   */
  scratchOnDisk?: boolean;
  tracker: OptionTracker;
  /** Exports this run created and has not deleted, oldest first. */
  exports: ExportRef[];
  nbdServerStarted: boolean;
  /** Iothreads `iothread` statements created (ids, oldest first): the contexts `expect context` tries. */
  iothreads: string[];
  /** Secrets `secret` statements created, by id, with their properties: `image … key-secret=ID` passes them to qemu-img. */
  secrets: Map<string, Readonly<Record<string, string>>>;
  /** Title of the current `## …` phase. */
  phase?: string;
  /** How long to wait for asynchronous events (BLOCK_EXPORT_DELETED, a job's status). */
  eventTimeoutMs: number;
  /** The engine's events; every step that waits for one goes through it (event-journal.ts). */
  events: EventJournal;
  /** Whether unsafe QMP commands may run: the scenario says `require unsafe` and the run passed --allow-unsafe. */
  unsafeAllowed: boolean;
  /** `run --pictures`: where `show graph` steps put the pictures they draw; absent, they draw none. */
  pictures?: PictureBook;
}

/** A fresh context for one run. */
export function createContext(engine: Engine, workdir: string, scratchDirs: string[], file: string): StepContext {
  return {
    engine,
    workdir,
    scratchDirs,
    file,
    tracker: new OptionTracker(),
    exports: [],
    nbdServerStarted: false,
    iothreads: [],
    secrets: new Map(),
    eventTimeoutMs: 10_000,
    events: new EventJournal(engine),
    unsafeAllowed: false,
  };
}

/** A failure located at a statement, carrying its phase and text. */
export function stepFailure(
  ctx: StepContext,
  stmt: Statement,
  kind: Failure["kind"],
  message: string,
  at: Location = stmt.location,
): Failure {
  return {
    kind,
    message,
    location: `${ctx.file}:${at.start.line}`,
    ...(ctx.phase !== undefined ? { phase: ctx.phase } : {}),
    source: stmt.text,
  };
}
