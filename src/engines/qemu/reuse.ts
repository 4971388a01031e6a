/**
 * When a QEMU process that ran one scenario may run the next, and how it is brought back to the
 * state of a fresh start.
 *
 * A fresh process per scenario is the rule; a process is reused only where that is provably the same
 * to the next scenario:
 * - Every command the scenario sent is one whose effects live in block nodes, block jobs, exports
 *   or the NBD server (the allow list below). Anything else (a device, a chardev, migration, `quit`,
 *   an HMP command other than qemu-io) rules the process out. Of QOM objects, only iothreads,
 *   throttle groups and secrets are allowed: they live until object-del, which the reset sends.
 *   But an object deleted leaves its id's slot in the /objects container's property hash table as
 *   a tombstone, which counts towards growing the table, so the ids a later scenario adds can land
 *   elsewhere than in a fresh process, and qom-list (or query-iothreads) lists them in another
 *   order (glib's GHashTable; the scenario iothreads/qom-list-order shows it within one process).
 *   So a scenario that sees that order gets a process that never had an object added: the runner
 *   starts its engine with `objectOrder`, and such an engine keeps its process only while no
 *   object-add was sent (warm-pool.ts keeps these processes apart). QEMU makes the /objects
 *   container on its first use and never removes it; the engine uses it at every start
 *   (objectsRootCreated), so a kept process and a fresh one both have it, empty.
 * - No quorum node was ever added: QEMU throttles QUORUM_REPORT_BAD per node name and QUORUM_FAILURE
 *   for the whole process, a second apart (monitor/monitor.c, monitor_qapi_event_conf), so the next
 *   scenario's events would depend on this one's. No other event a block scenario can raise is
 *   throttled.
 * - After the scenario the NBD server is stopped, every node deleted and every object deleted, and
 *   then what QMP shows of the process (the block graph with its BlockBackends and block jobs, every
 *   job, every export, /objects) must be what it showed right after the process started.
 * - QEMU wrote nothing to its log meanwhile but qemu-io's output (a warning is a sign of state we
 *   do not see).
 * What differs is how the scenario's end is checked: a kept process has closed its nodes through
 * blockdev-del, top first, where `quit` closes them all in bdrv_close_all; a crash there would show
 * as the reset failing and the process ending as before, a crash only in bdrv_close_all's order
 * would not show. `blockcheck run --fresh-qemu` quits after every scenario.
 * The working directory, where QEMU resolves relative names (an external data file, the NBD
 * server's socket), stays the scenario's scratch directory: the next scenario runs in the same one,
 * emptied (qemu-engine.ts). Auto node names go on counting; transcripts never show them.
 */
import type { QmpReply } from "../engine.js";

/** What QMP shows of a process's state; compared as a whole with the state just after its start. */
export type ProcessState = string;

/** A QMP call as the engine makes it (errors come back as `{error}` replies). */
export type Call = (command: string, args?: Record<string, unknown>) => Promise<QmpReply>;

const QUERIES = /^(query-|x-debug-query-)/;
const READS = new Set(["qom-list", "qom-get", "x-debug-block-dirty-bitmap-sha256"]);

/** Commands whose effects are all in nodes, jobs, exports or the NBD server. */
const UNDONE_BY_RESET = new Set([
  // Nodes, and what lives in them (bitmaps, write thresholds, their AioContext).
  "blockdev-add",
  "blockdev-del",
  "blockdev-reopen",
  "blockdev-snapshot",
  // The overlay file they make is in the scratch directory, which the next scenario finds emptied.
  "blockdev-snapshot-sync",
  // Internal snapshots live in the image file, in the scratch directory too.
  "blockdev-snapshot-internal-sync",
  "blockdev-snapshot-delete-internal-sync",
  "block_resize",
  "block-set-write-threshold",
  // A backing file name written into an image's header, and into its node.
  "change-backing-file",
  "x-blockdev-set-iothread",
  "block-dirty-bitmap-add",
  "block-dirty-bitmap-remove",
  "block-dirty-bitmap-clear",
  "block-dirty-bitmap-enable",
  "block-dirty-bitmap-disable",
  "block-dirty-bitmap-merge",
  // Jobs: a process is reused only with none left.
  "block-stream",
  "block-commit",
  "blockdev-mirror",
  "blockdev-backup",
  // Its target image is made in the scratch directory.
  "drive-backup",
  "blockdev-create",
  "x-blockdev-amend",
  "block-job-set-speed",
  "block-job-cancel",
  "block-job-pause",
  "block-job-resume",
  "block-job-complete",
  "block-job-dismiss",
  "block-job-finalize",
  "job-cancel",
  "job-pause",
  "job-resume",
  "job-complete",
  "job-dismiss",
  "job-finalize",
  // The NBD server and its exports: nbd-server-stop removes both.
  "nbd-server-start",
  "nbd-server-stop",
  "nbd-server-add",
  "nbd-server-remove",
  "block-export-del",
]);

/**
 * Objects whose whole effect ends with their object-del once no node uses them: an iothread (its
 * thread and AioContext), a throttle group (its entry in the groups by name), a secret. (Their ids'
 * tombstones stay: see above.)
 */
const RESET_OBJECTS = new Set(["iothread", "throttle-group", "secret"]);

/**
 * Why `command` with `args` rules out running another scenario on this process, or undefined when
 * the reset undoes it. (Sent commands count whatever QEMU answered: a refused command may have
 * done part of its work.) `objectOrder`: the process serves scenarios that see the order of
 * /objects, which an object added and deleted would change.
 */
export function reuseBlocker(command: string, args: Record<string, unknown> | undefined, objectOrder = false): string | undefined {
  if (args !== undefined && JSON.stringify(args).includes('"driver":"quorum"')) {
    return "a quorum node: QEMU throttles its events per process";
  }
  if (QUERIES.test(command) || READS.has(command) || UNDONE_BY_RESET.has(command)) return undefined;
  if (command === "block-export-add") return args?.["type"] === "nbd" ? undefined : `an export of type ${String(args?.["type"])}`;
  // Deleting it leaves a tombstone in /objects' property table (see above).
  if (command === "object-add") {
    const type = args?.["qom-type"];
    if (!(typeof type === "string" && RESET_OBJECTS.has(type))) return `an object of type ${String(type)}`;
    // Deleting it leaves a tombstone in /objects' property table (see above).
    return objectOrder ? "an object added where the next scenario sees the order of /objects" : undefined;
  }
  // A transaction's actions are commands of the same names (but `abort`, which does nothing), with
  // the same effects; a malformed one is refused before any action runs.
  if (command === "transaction") return transactionBlocker(args?.["actions"], objectOrder);
  // Whatever object it deletes was added by an object-add above, or never existed.
  if (command === "object-del") return undefined;
  if (command === "human-monitor-command") {
    const line = args?.["command-line"];
    return typeof line === "string" && /^qemu-io /.test(line) ? undefined : "an HMP command other than qemu-io";
  }
  return `'${command}'`;
}

function transactionBlocker(actions: unknown, objectOrder: boolean): string | undefined {
  if (!Array.isArray(actions)) return undefined;
  for (const action of actions as { type?: unknown; data?: unknown }[]) {
    if (action?.type === "abort") continue;
    const why = reuseBlocker(String(action?.type), action?.data as Record<string, unknown> | undefined, objectOrder);
    if (why !== undefined) return `a transaction with ${why}`;
  }
  return undefined;
}

/** The process's state as QMP shows it; the queries go out together and are answered in order. */
export async function processState(call: Call, graph?: QmpReply, objectList?: QmpReply): Promise<ProcessState> {
  const [g, jobs, exports, objects] = await Promise.all([
    graph ?? call("x-debug-query-block-graph"),
    call("query-jobs"),
    call("query-block-exports"),
    objectList ?? call("qom-list", { path: "/objects" }),
  ]);
  return JSON.stringify([g, jobs, exports, byName(objects)]);
}

/** qom-list's answer in name order: QOM lists a container's children in hash-table order. */
function byName(reply: QmpReply): QmpReply {
  if (!("return" in reply) || !Array.isArray(reply.return)) return reply;
  const sorted = [...(reply.return as { name: string }[])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { return: sorted };
}

interface GraphNode {
  id: number;
  type: string;
  name: string;
}

interface Graph {
  nodes: GraphNode[];
  edges: { parent: number; child: number }[];
}

export interface ResetOptions {
  /** The state right after the process started (processState). */
  fresh: ProcessState;
  /** The scenario started the NBD server (it may still run: nothing shows it). */
  nbdServer: boolean;
}

/**
 * Stop the NBD server, delete every node, delete every object, and compare the state with `fresh`. Returns undefined when the process is as it started, else why not.
 * Nodes go parents first, as blockdev-del allows: each round deletes the nodes nothing uses.
 */
export async function resetToFresh(call: Call, opts: ResetOptions): Promise<string | undefined> {
  // A job left (concluded, never dismissed) rules the process out before anything is deleted: the
  // job keeps its AioContext, and `quit` frees it in job_cancel_sync_all with that context's lock
  // taken. Deleting its iothread first makes QEMU 7.2 lock a destroyed mutex there, a crash the
  // scenario did not cause.
  const jobs = await call("query-jobs");
  if (!("return" in jobs) || !Array.isArray(jobs.return) || jobs.return.length > 0) return "a job is left";
  // The exports first, as `quit` closes them before any node (blk_exp_close_all): a node deleted
  // while an export of another node publishes its dirty bitmap would abort QEMU, where quit does not.
  // "NBD server not running" is an answer too: the scenario stopped it itself.
  if (opts.nbdServer) await call("nbd-server-stop");
  let graph: QmpReply;
  for (let round = 0; ; round++) {
    graph = await call("x-debug-query-block-graph");
    if (!("return" in graph)) return "x-debug-query-block-graph failed";
    const { nodes, edges } = graph.return as Graph;
    const used = new Set(edges.map((e) => e.child));
    const drivers = nodes.filter((n) => n.type === "block-driver");
    if (drivers.length === 0) break;
    const roots = drivers.filter((n) => !used.has(n.id));
    const deleted = await Promise.all(roots.map((n) => call("blockdev-del", { "node-name": n.name })));
    if (deleted.some((r) => "return" in r) && round < MAX_ROUNDS) continue;
    // What is left is in use by something that is not a node or an export.
    return `node '${(roots[0] ?? drivers[0])!.name}' could not be deleted`;
  }
  // Objects last: an iothread or throttle group could not go while a node used it.
  const objects = await call("qom-list", { path: "/objects" });
  const children = "return" in objects && Array.isArray(objects.return) ? (objects.return as { name: string; type: string }[]).filter((p) => p.type.startsWith("child<")) : [];
  await Promise.all(children.map((c) => call("object-del", { id: c.name })));
  const state = await processState(call, graph, children.length === 0 ? objects : undefined);
  return state === opts.fresh ? undefined : "QEMU's state after deleting everything differs from its state at start";
}

/** More rounds than any graph has levels: a graph that still has nodes then is not going away. */
const MAX_ROUNDS = 64;

/**
 * Make QOM's /objects container, as any process the engine starts has it. QEMU makes it on its first
 * use (object_get_objects_root, qom/object.c) and never removes it: without this, a process that
 * ran an object's scenario would answer `qom-list /objects` differently from a fresh one.
 * object-del looks the id up in it first (user_creatable_del, qom/object_interfaces.c), and this id
 * is one no object can have: object-add takes only ids that start with a letter. (qemu-storage-daemon
 * has no query-iothreads, the lookup with no error.)
 */
export function objectsRootCreated(call: Call): Promise<QmpReply> {
  return call("object-del", { id: "#objects" });
}
