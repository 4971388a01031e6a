/**
 * The job commands: job-* (job-qmp.c) find any job by id and fail with "Job not found";
 * block-job-* (blockdev.c) find only block jobs and fail with DeviceNotActive "Block job '…' not
 * found". query-jobs and query-block-jobs walk the job list from its head (newest first).
 */
import type { CommandHandler } from "../commands/handler.js";
import type { LayerState } from "../layer-state.js";
import { fail, QmpFailure } from "../qmp-failure.js";
import { BlockJob } from "./block-job.js";
import type { Job } from "./job.js";
import { jobComplete, jobDismiss, jobFinalize, jobUserCancel } from "./job-finish.js";

/** `find_job_locked`. */
function findJob(state: LayerState, id: string): Job {
  return state.findJob(id) ?? fail("Job not found");
}

/** `find_block_job_locked`. */
function findBlockJob(state: LayerState, id: string): BlockJob {
  const job = state.findJob(id);
  if (job instanceof BlockJob) return job;
  throw new QmpFailure(`Block job '${id}' not found`, "DeviceNotActive");
}

/** A command that finds its job by `key` and applies `verb` to it. */
function jobVerb(find: (state: LayerState, id: string) => Job, key: string, verb: (job: Job, args: Record<string, unknown>) => void): CommandHandler {
  return (state, args) => {
    verb(find(state, String(args[key])), args);
    return {};
  };
}

/** job-finalize and block-job-finalize hold a reference while finalizing (qmp_job_finalize). */
function finalizeHeld(job: Job): void {
  job.ref();
  try {
    jobFinalize(job);
  } finally {
    job.unref();
  }
}

export const JOB_COMMANDS: ReadonlyArray<[string, CommandHandler]> = [
  ["job-pause", jobVerb(findJob, "id", (j) => j.userPause())],
  ["job-resume", jobVerb(findJob, "id", (j) => j.userResume())],
  // job-cancel is always a forced cancel.
  ["job-cancel", jobVerb(findJob, "id", (j) => jobUserCancel(j, true))],
  ["job-complete", jobVerb(findJob, "id", (j) => jobComplete(j))],
  ["job-finalize", jobVerb(findJob, "id", (j) => finalizeHeld(j))],
  ["job-dismiss", jobVerb(findJob, "id", (j) => jobDismiss(j))],
  ["block-job-pause", jobVerb(findBlockJob, "device", (j) => j.userPause())],
  ["block-job-resume", jobVerb(findBlockJob, "device", (j) => j.userResume())],
  [
    "block-job-cancel",
    jobVerb(findBlockJob, "device", (j, args) => {
      const force = args["force"] === true;
      if (j.userPaused && !force) fail(`The block job for device '${String(args["device"])}' is currently paused`);
      jobUserCancel(j, force);
    }),
  ],
  ["block-job-complete", jobVerb(findBlockJob, "device", (j) => jobComplete(j))],
  ["block-job-finalize", jobVerb(findBlockJob, "id", (j) => finalizeHeld(j))],
  ["block-job-dismiss", jobVerb(findBlockJob, "id", (j) => jobDismiss(j))],
  ["block-job-set-speed", jobVerb(findBlockJob, "device", (j, args) => (j as BlockJob).setSpeed(Number(args["speed"])))],
  ["query-jobs", (state) => [...state.jobs].reverse().map(jobInfo)],
  ["query-block-jobs", (state) => [...state.jobs].reverse().filter((j): j is BlockJob => j instanceof BlockJob).map((j) => j.queryInfo())],
];

/** `job_query_single_locked`: JobInfo in QAPI member order. */
function jobInfo(job: Job): Record<string, unknown> {
  const info: Record<string, unknown> = {
    id: job.id,
    type: job.jobType,
    status: job.status,
    "current-progress": job.progress.current,
    "total-progress": job.progress.total,
  };
  if (job.err !== undefined) info["error"] = job.err;
  return info;
}
