/**
 * The job state machine's tables from job.c: which status may follow which (`JobSTT`), which
 * command verb each status accepts (`JobVerbTable`), and the status groups job.c asks about.
 */
import { fail } from "../qmp-failure.js";

/** QAPI JobStatus, in enum order. */
export const JOB_STATUSES = ["undefined", "created", "running", "paused", "ready", "standby", "waiting", "pending", "aborting", "concluded", "null"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** QAPI JobVerb. */
export type JobVerb = "cancel" | "pause" | "resume" | "set-speed" | "complete" | "dismiss" | "finalize";

/** QAPI JobType, the ones the model runs. */
export type JobType = "commit" | "stream" | "mirror" | "backup" | "create" | "amend";

/** One row per status, columns in JOB_STATUSES order: U, C, R, P, Y, S, W, D, X, E, N. */
type Row = readonly [0 | 1, 0 | 1, 0 | 1, 0 | 1, 0 | 1, 0 | 1, 0 | 1, 0 | 1, 0 | 1, 0 | 1, 0 | 1];

/** `JobSTT`: the allowed transitions. */
const STT: Readonly<Record<JobStatus, Row>> = {
  undefined: [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  created: [0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1],
  running: [0, 0, 0, 1, 1, 0, 1, 0, 1, 0, 0],
  paused: [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
  ready: [0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0],
  standby: [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0],
  waiting: [0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0],
  pending: [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0],
  aborting: [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0],
  concluded: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
  null: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
};

/** `JobVerbTable`: the statuses (same column order) in which each verb is accepted. */
const VERBS: Readonly<Record<JobVerb, Row>> = {
  cancel: [0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
  pause: [0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
  resume: [0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
  "set-speed": [0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
  complete: [0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0],
  finalize: [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],
  dismiss: [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0],
};

/** Whether `from` → `to` is in the transition table. */
export function transitionAllowed(from: JobStatus, to: JobStatus): boolean {
  return STT[from][JOB_STATUSES.indexOf(to)] === 1;
}

/** `job_apply_verb_locked`: throws QEMU's error when the job's status does not accept the verb. */
export function applyVerb(id: string, status: JobStatus, verb: JobVerb): void {
  if (VERBS[verb][JOB_STATUSES.indexOf(status)] === 1) return;
  fail(`Job '${id}' in state '${status}' cannot accept command verb '${verb}'`);
}

/** `job_is_ready_locked`. */
export function statusIsReady(status: JobStatus): boolean {
  return status === "ready" || status === "standby";
}

/** `job_is_completed_locked`. */
export function statusIsCompleted(status: JobStatus): boolean {
  return status === "waiting" || status === "pending" || status === "aborting" || status === "concluded" || status === "null";
}
