/**
 * Drained sections (block/io.c): while a node is drained, everything above it is told to stop
 * sending requests. For the model the only parents that act on it are block jobs: a job using a
 * drained node pauses (`child_job_drained_begin` → job_pause) and resumes when the last section
 * ends. That is observable — a running job goes to "paused" (or "standby") and back, and advances
 * one iteration, whenever a command drains one of its nodes (blockdev-reopen, graph changes) — so
 * the model follows QEMU's counting exactly:
 *
 * - `bdrv_do_drained_begin_quiesce`: the node's quiesce counter goes up and every parent edge
 *   (newest first, but the one the drain came through) gets `drained_begin`; a node parent is
 *   quiesced in turn, so the drain climbs to every ancestor.
 * - a subtree drain (`bdrv_subtree_drained_begin`) also drains each child through its edge.
 * - `bdrv_do_drained_end` undoes it child-to-parent: parents first, then the counter, then children.
 *
 * Without a job, a drain is noticed only where the counts go wrong: QEMU 7.2 asserts
 * (`c->parent_quiesce_counter > 0`) when a graph change inside drained sections leaves an edge
 * ending a section it never began (a reopen that frees a node whose child the new edge takes over).
 * So the model counts every section, except in a graph of more than COUNTED_NODES nodes with no
 * job: that keeps a reopen in a 10,000-deep chain linear (QEMU's walk up every ancestor for every
 * node is quadratic), and such a graph's miscounts are not modelled. Walks use an explicit stack in
 * the order QEMU's recursion takes, for the same reason.
 *
 * An edge that moves within drained sections passes the difference on (`bdrv_replace_child_noperm`):
 * its parent is drained for the new child's sections, a subtree-drained parent drains its new
 * child's subtree (`bdrv_apply_subtree_drain`), and the reverse for the old child.
 *
 * Drains that poll (BDRV_POLL_WHILE) wait for busy parents; the model never has a parent busy at
 * that point (bottom halves run before each command, and a job's own drains go through a bottom
 * half, see jobs/mirror-run.ts), so there is nothing to wait for.
 */
import { edgeDrainBeginPoll, edgeDrainEndPoll, subtreeDrainBeginPoll, subtreeDrainEndPoll } from "./aio-context/main-holds.js";
import type { BdsNode, Child } from "./graph.js";
import { qemuAssert } from "./qemu-would-crash.js";

/** Whatever knows whether a drain is counted: the block layer, with its jobs and nodes. */
export interface DrainHost {
  readonly jobs: readonly unknown[];
  readonly nodes: { readonly size: number };
}

/** Without a job, sections are counted in graphs of at most this many nodes (see above). */
const COUNTED_NODES = 1_000;

/** Whether drained sections are counted in this graph now (see above). */
export function drainsCounted(host: DrainHost): boolean {
  return host.jobs.length > 0 || host.nodes.size <= COUNTED_NODES;
}

/** One step of a walk; a step pushes the steps QEMU's recursion would take next (see pushInOrder). */
type Task = () => void;

/** Push `tasks` so that they run in the given order. */
function pushInOrder(stack: Task[], tasks: Task[]): void {
  for (let i = tasks.length - 1; i >= 0; i--) stack.push(tasks[i]!);
}

/** `bdrv_parent_drained_begin_single`: one edge tells its parent. */
function beginSingle(c: Child, stack: Task[]): void {
  c.parentQuiesce = (c.parentQuiesce ?? 0) + 1;
  if (c.parent.kind === "node") {
    // bdrv_child_cb_drained_begin
    const parent = c.parent.node;
    stack.push(() => quiesce(parent, null, stack));
  } else if (c.parent.kind === "job") {
    c.parent.job.drainedBegin();
  }
  // blk_root_drained_begin: the BlockBackend queues requests; nothing the model shows.
}

/** `bdrv_parent_drained_end_single`. */
function endSingle(c: Child, stack: Task[]): void {
  // A section ended twice: QEMU 7.2 asserts here, before the parent hears of it.
  if ((c.parentQuiesce ?? 0) <= 0) {
    qemuAssert({ file: "../../block/io.c", line: 64, func: "bdrv_parent_drained_end_single_no_poll" }, "c->parent_quiesce_counter > 0");
  }
  c.parentQuiesce = (c.parentQuiesce ?? 0) - 1;
  if (c.parent.kind === "node") {
    // bdrv_child_cb_drained_end → bdrv_drained_end_no_poll
    const parent = c.parent.node;
    stack.push(() => end(parent, false, null, stack));
  } else if (c.parent.kind === "job") {
    c.parent.job.drainedEnd();
  }
}

/** `bdrv_do_drained_begin_quiesce`: count the section, then tell the parents (QLIST order, newest first). */
function quiesce(bs: BdsNode, ignore: Child | null, stack: Task[]): void {
  bs.quiesce = (bs.quiesce ?? 0) + 1;
  const parents = [...bs.parents].reverse().filter((c) => c !== ignore);
  pushInOrder(stack, [...parents.map((c) => () => beginSingle(c, stack)), () => drainInvoke(bs)]);
}

/** `bdrv_drain_invoke` of a section's beginning: the driver's own work (qed's need-check timer). */
function drainInvoke(bs: BdsNode): void {
  if (!bs.freed) bs.driver.drainBegin?.(bs);
}

function begin(bs: BdsNode, recursive: boolean, parent: Child | null, stack: Task[]): void {
  const tasks: Task[] = [() => quiesce(bs, parent, stack)];
  if (recursive) {
    tasks.push(() => {
      bs.recursiveQuiesce = (bs.recursiveQuiesce ?? 0) + 1;
      pushInOrder(stack, [...bs.children].reverse().map((c) => () => begin(c.bs, true, c, stack)));
    });
  }
  pushInOrder(stack, tasks);
}

function end(bs: BdsNode, recursive: boolean, parent: Child | null, stack: Task[]): void {
  const tasks: Task[] = [...bs.parents].reverse().filter((c) => c !== parent).map((c) => () => endSingle(c, stack));
  tasks.push(() => {
    bs.quiesce = (bs.quiesce ?? 0) - 1;
  });
  if (recursive) {
    tasks.push(() => {
      bs.recursiveQuiesce = (bs.recursiveQuiesce ?? 0) - 1;
      pushInOrder(stack, [...bs.children].reverse().map((c) => () => end(c.bs, true, c, stack)));
    });
  }
  pushInOrder(stack, tasks);
}

/** Run a walk depth first, in the order of QEMU's recursion. */
function run(op: (stack: Task[]) => void): void {
  const stack: Task[] = [];
  op(stack);
  while (stack.length > 0) stack.pop()!();
}

/** `bdrv_drained_begin`. Returns whether the section was taken (counted, see above). */
export function bdrvDrainedBegin(host: DrainHost, bs: BdsNode): boolean {
  if (!drainsCounted(host)) return false;
  run((stack) => begin(bs, false, null, stack));
  return true;
}

/** `bdrv_drained_end` of a section bdrvDrainedBegin took. */
export function bdrvDrainedEnd(bs: BdsNode): void {
  run((stack) => end(bs, false, null, stack));
}

/** `bdrv_subtree_drained_begin`: the node and everything below it. Returns whether it was taken. */
export function bdrvSubtreeDrainedBegin(host: DrainHost, bs: BdsNode): boolean {
  if (!drainsCounted(host)) return false;
  run((stack) => begin(bs, true, null, stack));
  return true;
}

/** `bdrv_subtree_drained_end` of a section bdrvSubtreeDrainedBegin took. */
export function bdrvSubtreeDrainedEnd(bs: BdsNode): void {
  run((stack) => end(bs, true, null, stack));
}

/** Run `body` inside a drained section of `bs` (`bdrv_drained_begin` … `bdrv_drained_end`). */
export function withDrained<T>(host: DrainHost, bs: BdsNode, body: () => T): T {
  const taken = bdrvDrainedBegin(host, bs);
  try {
    return body();
  } finally {
    if (taken) bdrvDrainedEnd(bs);
  }
}

/** Run `body` inside a subtree drained section of each of `nodes`, ended newest first. */
export function withSubtreeDrained<T>(host: DrainHost, nodes: readonly BdsNode[], body: () => T): T {
  const taken: BdsNode[] = [];
  try {
    for (const n of nodes) if (bdrvSubtreeDrainedBegin(host, n)) taken.unshift(n);
    return body();
  } finally {
    for (const n of taken) if (!n.freed) bdrvSubtreeDrainedEnd(n);
  }
}

/** `bdrv_apply_subtree_drain` / `bdrv_unapply_subtree_drain`: a node parent's subtree sections, through `c`. */
function subtreeDrains(c: Child, op: typeof begin): boolean {
  if (c.parent.kind !== "node") return false;
  const times = c.parent.node.recursiveQuiesce ?? 0;
  for (let i = 0; i < times; i++) run((stack) => op(c.bs, true, c, stack));
  return times > 0;
}

/**
 * The drain bookkeeping of `bdrv_replace_child_noperm` around `move`, which takes the edge out of
 * its lists (when `attached`) and puts it on `newBs` (when not null): the parent is drained for
 * sections the new node is in and it was not, the old child leaves the parent's subtree sections
 * (detach), the new child enters them (attach), and the parent leaves sections of the old node.
 */
export function moveEdgeDrains(c: Child, attached: boolean, newBs: BdsNode | null, move: () => void): void {
  // The new child's poll in the parent's subtree sections, looked at before anything moves: it
  // sees the jobs above as the drain's pause leaves them (busyWhenDrained), and where it aborts,
  // QEMU is gone with the graph as it was.
  if (newBs && c.parent.kind === "node" && (c.parent.node.recursiveQuiesce ?? 0) > 0) subtreeDrainBeginPoll(newBs);
  const newQuiesce = newBs?.quiesce ?? 0;
  let saldo = newQuiesce - (c.parentQuiesce ?? 0);
  for (; saldo > 0; saldo--) {
    run((stack) => beginSingle(c, stack));
    if (c.parent.kind === "node") edgeDrainBeginPoll(c.parent.node);
  }
  if (attached && subtreeDrains(c, end)) subtreeDrainEndPoll(c);
  move();
  if (newBs) {
    // Detaching may have ended sections of the new node too.
    saldo += (newBs.quiesce ?? 0) - newQuiesce;
    subtreeDrains(c, begin);
  }
  for (; saldo < 0; saldo++) {
    run((stack) => endSingle(c, stack));
    if (c.parent.kind === "node") edgeDrainEndPoll(c.parent.node);
  }
}

/**
 * `bdrv_drain_all_begin`: every node, in the order they were made, is quiesced and its parents
 * that are not nodes (BlockBackends, jobs) are told (`ignore_bds_parents`: node parents are
 * drained on their own turn). The section never ends: qemu-storage-daemon takes it on its way out.
 */
export function bdrvDrainAllBegin(host: DrainHost, nodes: Iterable<BdsNode>): void {
  if (!drainsCounted(host)) return;
  for (const bs of nodes) {
    run((stack) => {
      bs.quiesce = (bs.quiesce ?? 0) + 1;
      const parents = [...bs.parents].reverse().filter((c) => c.parent.kind !== "node");
      pushInOrder(stack, [...parents.map((c) => () => beginSingle(c, stack)), () => drainInvoke(bs)]);
    });
  }
}

/**
 * `bdrv_drain_all`: bdrvDrainAllBegin, then `bdrv_drain_all_end`, which ends each node's section
 * in the same order, its non-node parents told first. A job using any node pauses and resumes.
 */
export function bdrvDrainAll(host: DrainHost, nodes: Iterable<BdsNode>): void {
  if (!drainsCounted(host)) return;
  const all = [...nodes];
  bdrvDrainAllBegin(host, all);
  for (const bs of all) {
    run((stack) => {
      const tasks: Task[] = [...bs.parents].reverse().filter((c) => c.parent.kind !== "node").map((c) => () => endSingle(c, stack));
      tasks.push(() => {
        bs.quiesce = (bs.quiesce ?? 0) - 1;
      });
      pushInOrder(stack, tasks);
    });
  }
}
