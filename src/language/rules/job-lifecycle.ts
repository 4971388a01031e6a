/**
 * Job ids and their lifetimes, and the states a scenario may count on.
 *
 * - A job id is used (`job VERB ID`, `wait ID …`, `expect job ID …`) only after the `job` statement
 *   that starts it and before the job ends: `job dismiss`, `job finalize` with auto-dismiss on, or
 *   `wait ID null` (which, like `expect job ID status=null`, may follow any of these: it prints the
 *   job's last events). An id is started once while its job lives (QEMU refuses a second job with
 *   it; once the first is gone the id is free again).
 * - A job's state is known only after a `wait`: starting it, `job complete`, `cancel`, `pause` and
 *   `resume` set it moving, and where it is when the next statement runs depends on timing. Until a
 *   `wait` on it (`wait ID STATUS`, or `wait event` for its BLOCK_JOB_READY or BLOCK_JOB_PENDING),
 *   only a `wait` may use its id (a verb or an `expect job` would race with it).
 * - Nor may `show graph`, `show nodes`, `show node` or an `expect` on the graph run while a job
 *   is moving: its filter, edges and frozen links, and whether its end has already changed the
 *   graph, depend on timing too. A wait for its BLOCK_JOB_COMPLETED or BLOCK_JOB_CANCELLED
 *   settles the graph (ENDING_EVENTS), though the job itself may stay until dismissed.
 * - `wait ID STATUS` names a status the job can stay in, given its type and options
 *   (job-commands.ts HOLDING_STATUSES): a wait for a status the job passes through could miss it.
 *
 * - `qmp blockdev-create` starts a job too (its `job-id`): one that finalizes itself and stays
 *   `concluded` until `qmp job-dismiss` (it is no block job: the `job VERB` statements, which send
 *   block-job-VERB, do not find it, nor does `qmp block-job-dismiss`, which ends a block job as
 *   `job dismiss` does). So does a block job's own command sent with `qmp` (a `job`
 *   statement's, or drive-backup), with its `job-id` and its `auto-finalize` and `auto-dismiss`.
 *
 * Statements written to fail (`-> error …`) may name jobs that do not exist, and start or end
 * nothing; they still may not act on a job whose state is not known.
 */
import type { Identifier, Location, OptionNode, QmpStatement, Statement } from "../ast.js";
import { error, type Diagnostic } from "../diagnostic.js";
import { HOLDING_STATUSES, JOB_COMMANDS, JOB_STATUSES } from "../job-commands.js";
import { expectsError, steps } from "../walk.js";
import type { Rule } from "./rule.js";
import { suggest } from "./suggest.js";

/**
 * Events after which a job stays where it is: BLOCK_JOB_READY (a ready job stays ready until it is
 * completed, cancelled or paused) and BLOCK_JOB_PENDING (sent only with auto-finalize=off, when
 * the job stays pending until finalized).
 */
const SETTLING_EVENTS: readonly string[] = ["BLOCK_JOB_READY", "BLOCK_JOB_PENDING"];

/**
 * Events sent in the job_exit bottom half that also changes the graph for the job's end (its
 * filter and edges go, a mirror's target replaces its source): once one has come, the graph no
 * longer depends on timing, though the job may not be gone yet (auto-dismiss=off).
 */
const ENDING_EVENTS: readonly string[] = ["BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED"];

/** `expect` assertions on the graph a moving job changes: its filter, frozen links and permissions come and go with it. */
const GRAPH_ASSERTIONS: ReadonlySet<string> = new Set(["edge", "ro", "rw", "gone", "exists", "graph", "node", "frozen", "context"]);

/** Where a job was started, and as what. */
interface JobStart {
  id: string;
  location: Location;
  /** The `job` statement's type, or `create` for blockdev-create. */
  jobType: string;
  /** A job that stays running from its start until cancelled (see staysRunning). */
  staysRunning: boolean;
  autoFinalize: boolean;
  autoDismiss: boolean;
}

interface LiveJob {
  start: JobStart;
  autoFinalize: boolean;
  autoDismiss: boolean;
  /** Where its state was last set moving, while no `wait` has settled it. */
  movingSince?: Statement;
  /** Paused by `job pause` and seen paused (or on standby) by a wait, not resumed since. */
  paused: boolean;
  /** Its BLOCK_JOB_COMPLETED or BLOCK_JOB_CANCELLED was waited for (ENDING_EVENTS). */
  endSeen: boolean;
}

interface EndedJob {
  at: Location;
  /** How it ended, as a note says it. */
  how: string;
}

export const jobLifecycle: Rule = {
  name: "job-lifecycle",
  on: "expansion",
  check({ scenario }) {
    const out: Diagnostic[] = [];
    const live = new Map<string, LiveJob>();
    const ended = new Map<string, EndedJob>();
    const starts = steps(scenario).flatMap(startsOf);

    /** The live job `id` names, or undefined after reporting why there is none. */
    const use = (id: Identifier, written: Statement): LiveJob | undefined => {
      const job = live.get(id.name);
      if (job || id.name.includes("$") || expectsError(written)) return job;
      const end = ended.get(id.name);
      const later = starts.find((j) => j.id === id.name && j.location.start.offset > written.location.start.offset);
      if (end) out.push(error(`job '${id.name}' is used after it ended`, id.location, [`${end.how} at line ${end.at.start.line}`]));
      else if (later) out.push(error(`job '${id.name}' is used before it is started`, id.location, [`started at line ${later.location.start.line}`]));
      else out.push(error(`unknown job '${id.name}'`, id.location, suggest(id.name, live.keys())));
      return undefined;
    };
    const settled = (id: Identifier, job: LiveJob) => {
      if (!job.movingSince) return;
      const since = job.movingSince;
      out.push(
        error(`the state of job '${id.name}' is not known here: wait for one first`, id.location, [
          `line ${since.location.start.line} set it moving; 'wait ${id.name} STATUS' makes the state the same on every run`,
        ]),
      );
    };
    const end = (id: string, at: Location, how: string) => {
      live.delete(id);
      ended.set(id, { at, how });
    };

    for (const s of steps(scenario)) {
      for (const start of startsOf(s)) {
        const previous = live.get(start.id);
        const where = s.type === "job" ? s.id.location : s.location;
        if (previous) {
          out.push(error(`duplicate job id '${start.id}'`, where, [`job '${start.id}' started at line ${previous.start.location.start.line} is still there`]));
        }
        live.set(start.id, {
          start,
          autoFinalize: start.autoFinalize,
          autoDismiss: start.autoDismiss,
          movingSince: start.staysRunning ? undefined : s,
          paused: false,
          endSeen: false,
        });
        ended.delete(start.id);
      }
      // job-dismiss ends any job; block-job-dismiss (what `job dismiss` sends) only a block job.
      const dismissing = s.type === "qmp" && !expectsError(s) ? s.command.name : undefined;
      const dismissed = dismissing === "job-dismiss" || dismissing === "block-job-dismiss" ? jsonString(s as QmpStatement, "id") : undefined;
      const dismissable = dismissed !== undefined ? live.get(dismissed) : undefined;
      if (dismissable && (dismissing === "job-dismiss" || !PLAIN_JOB_TYPES.includes(dismissable.start.jobType))) end(dismissed!, s.location, "dismissed");
      if (s.type === "job-verb") {
        const job = use(s.id, s);
        if (!job) continue;
        settled(s.id, job);
        if (expectsError(s)) continue;
        if (s.verb === "dismiss") end(s.id.name, s.location, "dismissed");
        else if (s.verb === "finalize" && job.autoDismiss) end(s.id.name, s.location, "finalized and dismissed (auto-dismiss is on)");
        else if (s.verb === "finalize") job.movingSince = undefined;
        // A paused job that is told to complete does so only once resumed (mirror_complete).
        else if (s.verb === "complete" && job.paused) continue;
        // Resumed, it is running again before the command returns, and stays so.
        else if (s.verb === "resume" && job.start.staysRunning) job.paused = false;
        else {
          job.movingSince = s;
          job.paused = false;
        }
      }
      if (s.type === "wait" && s.target.kind === "job") {
        const { id, status } = s.target;
        // Waiting for a job to be gone once it is: harmless, and it prints the job's last events.
        if (status.name === "null" && ended.has(id.name)) continue;
        const job = use(id, s);
        if (!job) continue;
        const problem = statusProblem(job, status);
        if (problem) {
          out.push(problem);
          continue;
        }
        if (status.name === "null") {
          end(id.name, s.location, `gone after 'wait ${id.name} null'`);
          continue;
        }
        job.movingSince = undefined;
        job.paused = status.name === "paused" || status.name === "standby";
      }
      if (s.type === "wait" && s.target.kind === "event" && SETTLING_EVENTS.includes(s.target.name.name)) {
        const named = s.target.match.find((o) => o.key === "device" || o.key === "id")?.value;
        const job = named?.type === "word" ? live.get(named.value) : undefined;
        if (job) job.movingSince = undefined;
      }
      if (s.type === "wait" && s.target.kind === "event" && ENDING_EVENTS.includes(s.target.name.name)) {
        const named = s.target.match.find((o) => o.key === "device")?.value;
        const job = named?.type === "word" ? live.get(named.value) : undefined;
        if (job) job.endSeen = true;
      }
      // A moving job's edges, filter node and the graph changes of its end are in the graph or not
      // depending on timing (a backup reading through the thread pool was still running at the
      // next command in 5 runs of 8 on QEMU 7.2.22, gone in 3).
      if (s.type === "show" || (s.type === "expect" && GRAPH_ASSERTIONS.has(s.assertion.kind))) {
        const moving = [...live.values()].find((j) => j.movingSince && !j.endSeen);
        if (moving) {
          const since = moving.movingSince!;
          const what = s.type === "show" ? "the graph shows" : "the graph is checked with";
          out.push(
            error(`${what} job '${moving.start.id}' while its state is not known here: wait for one first`, s.location, [
              `line ${since.location.start.line} set it moving; whether it is still there when this runs depends on timing`,
            ]),
          );
        }
      }
      if (s.type === "expect" && s.assertion.kind === "job") {
        // That a job is gone may be said once it is.
        if (isGoneCheck(s.assertion.properties) && ended.has(s.assertion.id.name)) continue;
        const job = use(s.assertion.id, s);
        if (job) settled(s.assertion.id, job);
      }
    }
    return out;
  },
};

/**
 * A backup with sync=none copies only what is about to be overwritten: it runs until it is
 * cancelled (backup_run), so its state is known from the start, and again once resumed.
 */
function staysRunning(jobType: string, sync: string | undefined): boolean {
  return jobType === "backup" && sync === "none";
}

/** Why `wait ID STATUS` could miss STATUS or wait forever for it, or undefined. */
function statusProblem(job: LiveJob, status: Identifier): Diagnostic | undefined {
  const s = status.name;
  const id = job.start.id;
  if (s.includes("$")) return undefined;
  if (!JOB_STATUSES.includes(s)) return error(`unknown job status '${s}'`, status.location, suggest(s, JOB_STATUSES));
  if (!HOLDING_STATUSES.includes(s)) {
    return error(`a job does not stay '${s}'`, status.location, [`wait for a state it stays in: ${HOLDING_STATUSES.join(", ")}`]);
  }
  const line = job.start.location.start.line;
  if (s === "pending" && job.autoFinalize) {
    const plain = Object.keys(PLAIN_JOBS).find((c) => PLAIN_JOBS[c] === job.start.jobType);
    const note = plain !== undefined ? `${plain}'s job always does` : `start it with auto-finalize=off (line ${line})`;
    return error(`job '${id}' finalizes itself: it does not stay 'pending'`, status.location, [note]);
  }
  if (s === "concluded" && job.autoDismiss) {
    return error(`job '${id}' dismisses itself: it does not stay 'concluded'`, status.location, [`start it with auto-dismiss=off (line ${line})`]);
  }
  // A stream, a backup and the plain jobs are sure never to get ready: only mirror.c calls
  // job_transition_to_ready. A commit gets ready when qmp_block_commit runs it as
  // an active commit (a mirror): when its top is the device's own node, or when anything holds
  // WRITE on the top node ("Active commit is required if and only if someone has taken a WRITE
  // permission on the top node", blockdev.c). A writable export or any other writing parent of an
  // intermediate node makes it so, which the graph as it stands when the job starts tells, not
  // the scenario's text: a commit's `wait ready` is not refused.
  if ((s === "ready" || s === "standby") && NEVER_READY.includes(job.start.jobType)) {
    const type = job.start.jobType;
    return error(`${/^[aeiou]/.test(type) ? "an" : "a"} ${type} job never becomes ready`, status.location, [
      "a mirror gets ready, and so does a commit of the active layer or of a node something writes to",
    ]);
  }
  return undefined;
}

/** The QMP commands that start a block job, and its type: the `job` statements' own, and the drive-* ones. */
const QMP_BLOCK_JOBS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(Object.entries(JOB_COMMANDS).map(([type, command]) => [command, type])),
  "drive-mirror": "mirror",
  "drive-backup": "backup",
};

/**
 * The jobs a statement starts, unless it is written to fail: a `job` statement, `qmp` of a command
 * that starts one, or a `qmp transaction` of backup actions.
 */
function startsOf(s: Statement): JobStart[] {
  if (expectsError(s)) return [];
  if (s.type === "job") {
    const sync = s.options.find((o) => o.key === "sync")?.value;
    return [
      {
        id: s.id.name,
        location: s.location,
        jobType: s.jobType,
        staysRunning: staysRunning(s.jobType, sync?.type === "word" ? sync.value : undefined),
        autoFinalize: boolOption(s.options, "auto-finalize") ?? true,
        autoDismiss: boolOption(s.options, "auto-dismiss") ?? true,
      },
    ];
  }
  if (s.type !== "qmp") return [];
  if (s.command.name !== "transaction") return qmpStart(s.command.name, s.args?.value, s.location);
  const actions = member(s.args?.value, "actions");
  if (!Array.isArray(actions)) return [];
  return actions.flatMap((a) => (typeof member(a, "type") === "string" ? qmpStart(member(a, "type") as string, member(a, "data"), s.location) : []));
}

/** The job types that never reach READY. */
const NEVER_READY: readonly string[] = ["stream", "backup", "create", "amend"];

/** Commands that start a job that is no block job, and its type. */
const PLAIN_JOBS: Readonly<Record<string, string>> = { "blockdev-create": "create", "x-blockdev-amend": "amend" };
const PLAIN_JOB_TYPES: readonly string[] = Object.values(PLAIN_JOBS);

/** The job `command` with `args` starts (a transaction's action is such a pair too). */
function qmpStart(command: string, args: unknown, location: Location): JobStart[] {
  const id = member(args, "job-id");
  if (typeof id !== "string") return [];
  // blockdev-create's and x-blockdev-amend's jobs are JOB_DEFAULT | JOB_MANUAL_DISMISS.
  const plain = PLAIN_JOBS[command];
  if (plain !== undefined) return [{ id, location, jobType: plain, staysRunning: false, autoFinalize: true, autoDismiss: false }];
  const jobType = QMP_BLOCK_JOBS[command];
  if (jobType === undefined) return [];
  const sync = member(args, "sync");
  const flag = (key: string) => {
    const v = member(args, key);
    return typeof v === "boolean" ? v : true;
  };
  return [{ id, location, jobType, staysRunning: staysRunning(jobType, typeof sync === "string" ? sync : undefined), autoFinalize: flag("auto-finalize"), autoDismiss: flag("auto-dismiss") }];
}

/** A member of a JSON object, or undefined. */
function member(value: unknown, key: string): unknown {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
}

/** A string member of a `qmp` statement's arguments. */
function jsonString(s: QmpStatement, key: string): string | undefined {
  const v = member(s.args?.value, key);
  return typeof v === "string" ? v : undefined;
}

/** `expect job ID status=null` and nothing else. */
function isGoneCheck(properties: readonly OptionNode[]): boolean {
  return properties.length === 1 && properties[0]!.key === "status" && properties[0]!.value.type === "null";
}

/** A boolean option's value as written, or undefined when absent or not a boolean. */
function boolOption(options: readonly OptionNode[], key: string): boolean | undefined {
  const v = options.find((o) => o.key === key)?.value;
  return v?.type === "bool" ? v.value : undefined;
}
