/**
 * The seeded sequence generator. It decides each command from the live state of the reference
 * engine (real QEMU) and its own bookkeeping, so sequences stay meaningful: children that exist,
 * reopens with full option sets, exports on real nodes — plus a steady share of mistakes.
 */
import { addStep, hasGraphOnlyNode } from "./gen-add.js";
import { ioStep } from "./gen-io.js";
import { IothreadGuard, iothreadStep } from "./gen-iothreads.js";
import { jobStartStep, jobVerbStep } from "./gen-jobs.js";
import { delStep, exportAddStep, exportDelStep, queryStep, serverStep, throttleGroupStep } from "./gen-misc.js";
import { reopenStep } from "./gen-reopen.js";
import { GenState, type LiveView } from "./gen-state.js";
import { Prng } from "../../src/fuzz/prng.js";
import type { IoStep, QmpStep, RecordedQmpStep } from "./steps.js";

/**
 * io steps (gen-io.ts) draw from their own PRNG, so the QMP commands a sequence gets are the ones it
 * got before io existed, with qemu-io commands in between. Sequences with io run on qemu-system
 * (qemu-storage-daemon has no HMP); the others stay on the daemon.
 */
const IO_SEED_SALT = 0x10c0ffee;
const IO_SEQUENCE_SHARE = 0.7;

/** Iothread steps (gen-iothreads.ts) likewise: their own PRNG, in a share of the sequences. */
const IOTHREAD_SEED_SALT = 0x10e4ead;
const IOTHREAD_SEQUENCE_SHARE = 0.4;

export class SequenceGenerator {
  private readonly rng: Prng;
  private readonly ioRng: Prng;
  private readonly state = new GenState();
  /** Whether this sequence has qemu-io commands. */
  readonly io: boolean;
  private readonly iothreadRng: Prng;
  /** Whether this sequence has iothread steps. */
  readonly iothreads: boolean;
  /** Keeps the other steps clear of what crashes QEMU 7.2 around iothreads (gen-iothreads.ts). */
  private readonly guard = new IothreadGuard();

  constructor(readonly seed: number) {
    this.rng = new Prng(seed);
    this.ioRng = new Prng((seed ^ IO_SEED_SALT) >>> 0);
    this.io = this.ioRng.chance(IO_SEQUENCE_SHARE);
    this.iothreadRng = new Prng((seed ^ IOTHREAD_SEED_SALT) >>> 0);
    this.iothreads = this.iothreadRng.chance(IOTHREAD_SEQUENCE_SHARE);
  }

  /** How many commands this sequence should have. */
  length(): number {
    return this.rng.int(12, 30) + (this.io ? this.ioRng.int(8, 20) : 0);
  }

  /** The next command, given the reference engine's current state. */
  next(view: LiveView): QmpStep | IoStep {
    return this.guard.replace(this.draw(view), view);
  }

  private draw(view: LiveView): QmpStep | IoStep {
    const { rng, state } = this;
    // Not while a job lives: what a job copies meanwhile is not compared yet.
    if (this.io && view.jobs.length === 0 && this.ioRng.chance(0.4)) return ioStep(this.ioRng, view, state);
    if (this.iothreads && view.jobs.length === 0 && this.iothreadRng.chance(0.25)) return iothreadStep(this.iothreadRng, state, view);
    const nodes = view.graph.driverNames().length;
    const job = view.jobs.length > 0;
    const kind = rng.weighted({
      add: nodes < 3 ? 12 : 6,
      reopen: nodes > 0 ? 7 : 0,
      del: nodes > 0 ? 2 : 0,
      group: state.throttleGroups.size === 0 ? 1.5 : 0.3,
      server: state.serverRunning ? 0.1 : 1,
      exportAdd: nodes > 0 ? 2 : 0,
      exportDel: state.exports.size > 0 ? 1.5 : 0.1,
      query: 4,
      // One job at a time (see gen-jobs.ts); a start while one lives only reuses its id, an error.
      // None over quorum, blkverify, copy-before-write or blklogwrites: the model has no data path there.
      jobStart: nodes === 0 || hasGraphOnlyNode(view) ? 0 : job ? 0.2 : state.jobStarted ? 1 : 3,
      jobVerb: job ? 6 : 0.2,
    });
    switch (kind) {
      case "add":
        return addStep(rng, state, view, this.io);
      case "reopen":
        return reopenStep(rng, state, view) ?? queryStep(rng);
      case "del":
        return delStep(rng, state, view);
      case "group":
        return throttleGroupStep(rng, state);
      case "server":
        return serverStep();
      case "exportAdd":
        return exportAddStep(rng, state, view) ?? queryStep(rng);
      case "exportDel":
        return exportDelStep(rng, state);
      case "query":
        return queryStep(rng);
      case "jobStart":
        return jobStartStep(rng, state, view) ?? queryStep(rng);
      case "jobVerb":
        return jobVerbStep(rng, state, view);
    }
  }

  /** Learn from the command that just ran; `after` is the state once it finished. */
  observe(step: RecordedQmpStep, after: LiveView): void {
    this.state.observe(step, after);
    this.guard.observe(step, after);
  }
}
