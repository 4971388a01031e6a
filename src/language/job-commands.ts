/**
 * What the language knows about block jobs, from QEMU 7.2's QAPI schema (src/qapi/generated):
 * the command each `job` statement sends and its arguments, the verbs, the job statuses, and the
 * members of a job's query-jobs / query-block-jobs entry that `expect job` can name.
 *
 * The checker (rules/job-*.ts) and the runner (runner/steps/job.ts, wait.ts) read the same tables,
 * so a statement the checker accepts is one the runner knows how to send.
 */
import { qmpSchema } from "../qapi/generated/qmp-schema.js";
import type { SchemaObject } from "../qapi/schema-types.js";
import type { JobType, JobVerb } from "./ast.js";

/** The command a `job TYPE …` statement sends. */
export const JOB_COMMANDS: Readonly<Record<JobType, string>> = {
  stream: "block-stream",
  commit: "block-commit",
  mirror: "blockdev-mirror",
  backup: "blockdev-backup",
};

/**
 * The command a `job VERB ID` statement sends, and the member that carries the id. The block-job-*
 * family, not job-*: block-job-cancel is the one with `force` (a soft cancel of a ready mirror
 * completes it instead), and 245 uses it.
 */
export const VERB_COMMANDS: Readonly<Record<JobVerb, { command: string; idMember: "id" | "device" }>> = {
  finalize: { command: "block-job-finalize", idMember: "id" },
  complete: { command: "block-job-complete", idMember: "device" },
  cancel: { command: "block-job-cancel", idMember: "device" },
  pause: { command: "block-job-pause", idMember: "device" },
  resume: { command: "block-job-resume", idMember: "device" },
  dismiss: { command: "block-job-dismiss", idMember: "id" },
};

/** One argument of a job command, as the schema has it. */
export interface JobArgument {
  name: string;
  /** The value's shape: a string, an integer, a boolean, one of `values`, or an object of `members`. */
  kind: "str" | "int" | "bool" | "enum" | "object";
  values?: readonly string[];
  /** An object's members (`x-perf`'s `max-chunk`, …), which `KEY.MEMBER=VALUE` may give one by one. */
  members?: readonly string[];
  optional: boolean;
  /** The value names a node (`base-node=hd2`): a node name or a path, checked and resolved as one. */
  node: boolean;
}

/** Arguments whose value is a node: a name or a path, resolved like any node reference. */
const NODE_ARGUMENTS: ReadonlySet<string> = new Set(["base-node", "top-node", "bottom", "target", "replaces"]);

/** The argument that names the filter node a job inserts (the node exists while the job runs). */
export const FILTER_NODE_ARGUMENT = "filter-node-name";

/** Members written in the statement itself, not as options: `job TYPE ID NODE`, `job VERB ID`. */
const POSITIONAL: ReadonlySet<string> = new Set(["job-id", "device", "id"]);

/** The arguments of `command` that a statement gives as `key=value`, in schema order. */
export function commandArguments(command: string): JobArgument[] {
  const arg = qmpSchema.commands[command]?.arg;
  const type = arg === undefined ? undefined : qmpSchema.types[arg];
  if (!type || type.kind !== "object") return [];
  return (type as SchemaObject).members
    .filter((m) => !POSITIONAL.has(m.name))
    .map((m) => {
      const t = qmpSchema.types[m.type];
      const base = { name: m.name, optional: m.optional, node: NODE_ARGUMENTS.has(m.name) };
      if (t?.kind === "enum") return { ...base, kind: "enum" as const, values: [...t.values] };
      if (t?.kind === "builtin" && t.json === "boolean") return { ...base, kind: "bool" as const };
      if (t?.kind === "builtin" && t.json === "int") return { ...base, kind: "int" as const };
      if (t?.kind === "object") return { ...base, kind: "object" as const, members: (t as SchemaObject).members.map((x) => x.name) };
      return { ...base, kind: "str" as const };
    });
}

/** QAPI JobStatus, in schema order. */
export const JOB_STATUSES: readonly string[] = [
  "undefined",
  "created",
  "running",
  "paused",
  "ready",
  "standby",
  "waiting",
  "pending",
  "aborting",
  "concluded",
  "null",
];

/**
 * The statuses a job can stay in until someone acts, so that `wait ID STATUS` ends in the same state
 * on every run: ready and standby (a mirror, or a commit of the active layer, until it is completed
 * or cancelled; standby is a paused ready job), paused (until resumed), pending (auto-finalize=off,
 * until finalized), concluded (auto-dismiss=off, until dismissed) and null (gone). The others
 * (created, running, waiting, aborting) last as long as the copy does, which depends on timing.
 */
export const HOLDING_STATUSES: readonly string[] = ["ready", "standby", "paused", "pending", "concluded", "null"];

/** QAPI JobType (what query-jobs' `type` can say), in schema order. */
const JOB_TYPES: readonly string[] = ["commit", "stream", "mirror", "backup", "create", "amend", "snapshot-load", "snapshot-save", "snapshot-delete"];

/** A member of a job's query-jobs (JobInfo) or query-block-jobs (BlockJobInfo) entry. */
export interface JobProperty {
  kind: "str" | "int" | "bool" | "enum";
  values?: readonly string[];
  /** Which query answers it. */
  from: "query-jobs" | "query-block-jobs";
}

/**
 * What `expect job ID KEY=VALUE…` can name: JobInfo's members, then BlockJobInfo's that JobInfo does
 * not have (its `device` is the id, its `type` and `status` the same as JobInfo's).
 */
export const JOB_PROPERTIES: Readonly<Record<string, JobProperty>> = {
  type: { kind: "enum", values: JOB_TYPES, from: "query-jobs" },
  status: { kind: "enum", values: JOB_STATUSES, from: "query-jobs" },
  "current-progress": { kind: "int", from: "query-jobs" },
  "total-progress": { kind: "int", from: "query-jobs" },
  error: { kind: "str", from: "query-jobs" },
  len: { kind: "int", from: "query-block-jobs" },
  offset: { kind: "int", from: "query-block-jobs" },
  busy: { kind: "bool", from: "query-block-jobs" },
  paused: { kind: "bool", from: "query-block-jobs" },
  speed: { kind: "int", from: "query-block-jobs" },
  "io-status": { kind: "enum", values: ["ok", "failed", "nospace"], from: "query-block-jobs" },
  ready: { kind: "bool", from: "query-block-jobs" },
  "auto-finalize": { kind: "bool", from: "query-block-jobs" },
  "auto-dismiss": { kind: "bool", from: "query-block-jobs" },
};
