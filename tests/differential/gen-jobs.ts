/**
 * Block-job commands for the generator: block-stream, block-commit (intermediate and active),
 * blockdev-mirror (sync full/top), the job-* and block-job-* verbs, and the job queries.
 *
 * No step's result may depend on timing, and this is so by construction, not by filtering:
 * - at most one job lives at a time, so no other job's events can interleave with a step's;
 * - every step that can move a job carries a `settle` (steps.ts): after a successful reply, both
 *   engines wait for the job's JOB_STATUS_CHANGE events up to a state QEMU stays in whatever the
 *   timing (READY, STANDBY, PENDING, CONCLUDED, or gone), and then for the event QEMU sends last in
 *   that state's main-loop turn (BLOCK_JOB_READY, BLOCK_JOB_PENDING). So each step starts and ends
 *   with the job at rest, and queries (query-jobs/query-block-jobs, graph queries) and commands
 *   under the job (reopen, blockdev-del) only ever see a job that QEMU cannot move on its own;
 * - a stream or an intermediate commit is never acted on while it runs: it is only ever seen
 *   pending, concluded or gone (a pause or cancel would race with its end);
 * - no commit names its filter node (a named commit filter plus a reopen aborts QEMU 7.2);
 * - QEMU 7.2.22 crashes, so this stays out of generated ground truth: once a stream job has run
 *   its prepare (the copy-on-read filter dropped) but is not yet freed, query-named-block-nodes
 *   segfaults — minimal reproducer: `blockdev-add {"driver":"null-co","node-name":"n0"}`,
 *   `block-stream {"job-id":"j0","device":"n0","auto-dismiss":false}`, wait for CONCLUDED,
 *   `query-named-block-nodes` (tests/differential/qemu-bugs.test.ts runs it). A finalized stream
 *   with auto-finalize off is the same state. So streams keep auto-finalize and auto-dismiss on;
 *   a job starts only once the one before it is gone (see the first point).
 */
import { nodeRef } from "./gen-add.js";
import type { GenState, JobInfo, LiveView } from "./gen-state.js";
import type { Prng } from "../../src/fuzz/prng.js";
import { qmp, type Json, type QmpStep } from "./steps.js";
import { randomHeaderFileNodes, reachesName } from "./gen-io.js";

type Dict = { [key: string]: Json };

/** What the job ends at when nothing holds it: gone with auto-dismiss, else concluded. */
function endState(autoDismiss: boolean): string {
  return autoDismiss ? "null" : "concluded";
}

/** States a job finishing (or failing) can rest in, given its auto-finalize/auto-dismiss. */
function finishStops(autoFinalize: boolean, autoDismiss: boolean): string[] {
  return autoFinalize ? [endState(autoDismiss)] : ["pending", endState(autoDismiss)];
}

function withSettle(step: QmpStep, id: string, stops: string[]): QmpStep {
  return { ...step, settle: { id, stops } };
}

/** qcow2 nodes that have a backing child: the tops of chains a stream or commit can run on. */
function chainTops(view: LiveView): string[] {
  const referable = new Set(view.graph.referableNames());
  return view.nodes.filter((n) => n.drv === "qcow2" && referable.has(n.name) && view.graph.child(n.name, "backing") !== undefined).map((n) => n.name);
}

/** The job's device node if a command can still name it. */
function deviceOf(state: GenState, view: LiveView, job: JobInfo): string | undefined {
  const dev = state.jobFlags.get(job.id)?.device;
  return dev !== undefined && view.graph.referableNames().includes(dev) ? dev : undefined;
}

/**
 * Whether a node below `name` is also the file of a preallocate filter. QEMU 7.2.22 hangs there,
 * though not every time (so it has no reproducer test): images base.qcow2 and mid.qcow2 (1M);
 * preallocate p0 over a file node on base.qcow2; qemu-io `truncate 65536` on p0; raw r3 over
 * mid.qcow2; qcow2 q6 with file p0/file and backing r3; block-stream of q6. The job makes no
 * progress and the monitor stops answering, at once or within seconds; the model ends the job
 * with an I/O error.
 */
function sharesPreallocateFile(view: LiveView, name: string): boolean {
  const below = new Set([name, ...view.graph.descendants(name)]);
  return view.nodes.some(
    (n) => n.drv === "preallocate" && !below.has(n.name) && view.graph.childEdges(n.name).some((e) => below.has(view.graph.node(e.child)?.name ?? "")),
  );
}

/** A job-starting command, with auto-finalize/auto-dismiss sometimes off. */
export function jobStartStep(rng: Prng, state: GenState, view: LiveView): QmpStep | undefined {
  // No job runs over the raw bytes of an image file whose header qemu-img fills at random: it would
  // copy them elsewhere.
  const randomHeaders = randomHeaderFileNodes(view);
  const usable = (n: string) => !sharesPreallocateFile(view, n) && !reachesName(view, n, randomHeaders);
  const names = view.graph
    .referableNames()
    .filter((n) => view.graph.driverNode(n)?.name === n && usable(n));
  if (names.length === 0) return undefined;
  const existing = view.jobs[0]?.id;
  // A second job while one lives would let their events interleave; only a duplicate id (an error) is sent then.
  const id = existing ?? state.freshName("j");
  const args: Dict = { "job-id": id };
  const tops = chainTops(view).filter(usable);
  const kind = rng.weighted({ stream: tops.length > 0 ? 3 : 0.3, commit: tops.length > 0 ? 2 : 0.2, active: tops.length > 0 ? 2 : 0.2, mirror: 3 });
  const af = kind === "stream" || !rng.chance(0.35);
  // Streams stay auto-dismissed: a concluded stream crashes QEMU's query-named-block-nodes (above).
  const ad = kind === "stream" || !rng.chance(0.35);
  if (!af) args["auto-finalize"] = false;
  if (!ad) args["auto-dismiss"] = false;
  const dev = (pool: string[]) => nodeRef(view, rng.pick(pool.length > 0 ? pool : names));
  let step: QmpStep;
  let readyFirst = false;
  switch (kind) {
    case "stream":
      step = qmp("block-stream", { ...args, device: dev(tops) });
      break;
    case "commit": {
      // Intermediate: top-node is the device's backing file, which has a backing file of its own.
      const top = rng.pick(tops.length > 0 ? tops : names);
      const mid = view.graph.child(top, "backing");
      const topNode = mid !== undefined && !rng.chance(0.1) ? nodeRef(view, mid) : top;
      step = qmp("block-commit", { ...args, device: nodeRef(view, top), "top-node": topNode });
      readyFirst = topNode === top;
      break;
    }
    case "active":
      step = qmp("block-commit", { ...args, device: dev(tops) });
      readyFirst = true;
      break;
    default: {
      // Mostly qcow2 sources (chains, allocation), now and then any node.
      const qcow2 = view.nodes.filter((n) => n.drv === "qcow2" && names.includes(n.name)).map((n) => n.name);
      const src = rng.pick(qcow2.length > 0 && !rng.chance(0.3) ? qcow2 : names);
      // Targets that keep their data in image metadata or nowhere: a mirror's zero writes with
      // unmap punch holes into a host file (fallocate), which the model's data path cannot do, so
      // a file or raw target's actual-size would differ (README: host file system allocation).
      const drv = new Map(view.nodes.map((n) => [n.name, n.drv]));
      const others = names.filter((n) => n !== src && ["qcow2", "null-co", "null-aio"].includes(drv.get(n) ?? ""));
      const target = others.length > 0 && !rng.chance(0.05) ? rng.pick(others) : src;
      step = qmp("blockdev-mirror", { ...args, device: nodeRef(view, src), target: nodeRef(view, target), sync: rng.pick(["full", "top"]) });
      readyFirst = true;
    }
  }
  if (existing === undefined) state.jobFlags.set(id, { autoFinalize: af, autoDismiss: ad });
  // An active commit and a mirror stop at READY; any job that fails stops at its end state.
  return withSettle(step, id, readyFirst ? ["ready", ...finishStops(af, ad)] : finishStops(af, ad));
}

/** A verb or query on the live job (or, now and then, on a job that does not exist). */
export function jobVerbStep(rng: Prng, state: GenState, view: LiveView): QmpStep {
  const job: JobInfo | undefined = view.jobs[0];
  const id = job && !rng.chance(0.05) ? job.id : "nosuch";
  const flags = state.jobFlags.get(id) ?? { autoFinalize: true, autoDismiss: true };
  const stops = finishStops(flags.autoFinalize, flags.autoDismiss);
  const block = rng.chance(0.5);
  const verb = rng.weighted({
    pause: job?.status === "ready" ? 3 : 0.5,
    resume: job?.status === "standby" ? 3 : 0.5,
    complete: job?.status === "ready" ? 2 : 0.4,
    cancel: 1.5,
    finalize: job?.status === "pending" ? 3 : 0.4,
    dismiss: job?.status === "concluded" ? 3 : 0.4,
    query: 2,
    del: job && deviceOf(state, view, job) !== undefined ? 1 : 0,
  });
  const name = (v: string) => (block ? `block-job-${v}` : `job-${v}`);
  const idArg = (): Dict => (block ? { device: id } : { id });
  switch (verb) {
    case "pause":
      return withSettle(qmp(name("pause"), idArg()), id, ["standby"]);
    case "resume":
      return withSettle(qmp(name("resume"), idArg()), id, ["ready"]);
    case "complete":
      return withSettle(qmp(name("complete"), idArg()), id, stops);
    case "cancel": {
      // block-job-cancel without force on a READY job completes it without the pivot (it can stop at PENDING).
      const args: Dict = block ? { device: id, ...(rng.chance(0.5) ? { force: rng.chance(0.5) } : {}) } : { id };
      return withSettle(qmp(block ? "block-job-cancel" : "job-cancel", args), id, stops);
    }
    case "finalize":
      return withSettle(qmp(block ? "block-job-finalize" : "job-finalize", { id }), id, [endState(flags.autoDismiss)]);
    case "dismiss":
      return withSettle(qmp(name("dismiss"), { id }), id, ["null"]);
    case "del":
      // The job holds its nodes: blockdev-del of one under a READY, STANDBY or PENDING job.
      return qmp("blockdev-del", { "node-name": nodeRef(view, deviceOf(state, view, job!)!) });
    default:
      return rng.chance(0.5) ? qmp("query-jobs") : qmp("query-block-jobs");
  }
}
