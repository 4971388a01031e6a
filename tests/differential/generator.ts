/**
 * The seeded sequence generator. It decides each command from the live state of the reference
 * engine (real QEMU) and its own bookkeeping, so sequences stay meaningful: children that exist,
 * reopens with full option sets, exports on real nodes — plus a steady share of mistakes.
 */
import { addStep } from "./gen-add.js";
import { jobStartStep, jobVerbStep } from "./gen-jobs.js";
import { delStep, exportAddStep, exportDelStep, queryStep, serverStep, throttleGroupStep } from "./gen-misc.js";
import { reopenStep } from "./gen-reopen.js";
import { GenState, type LiveView } from "./gen-state.js";
import { Prng } from "../../src/fuzz/prng.js";
import type { QmpStep, RecordedQmpStep } from "./steps.js";

/**
 * Job steps (gen-jobs.ts) are opt-in until the model and the generator agree with QEMU on them:
 * BLOCKCHECK_DIFF_JOBS=1. Off, the generator draws exactly the sequences it drew before.
 */
const JOBS = process.env.BLOCKCHECK_DIFF_JOBS === "1";

export class SequenceGenerator {
  private readonly rng: Prng;
  private readonly state = new GenState();

  constructor(readonly seed: number) {
    this.rng = new Prng(seed);
  }

  /** How many commands this sequence should have. */
  length(): number {
    return this.rng.int(12, 30);
  }

  /** The next command, given the reference engine's current state. */
  next(view: LiveView): QmpStep {
    const { rng, state } = this;
    const nodes = view.graph.driverNames().length;
    const job = view.jobs.length > 0;
    const kind = rng.weighted({
      // Not while a job lives: attaching a parent drains the child in QEMU (a standby/ready pair
      // per drain of a READY job), which the model does not do yet.
      add: job ? 0 : nodes < 3 ? 12 : 6,
      reopen: nodes > 0 ? 7 : 0,
      del: nodes > 0 ? 2 : 0,
      group: state.throttleGroups.size === 0 ? 1.5 : 0.3,
      server: state.serverRunning ? 0.1 : 1,
      // Not while a job lives: QEMU's block-export-add drains its node as it attaches (and, failing,
      // detaches) its BlockBackend, which the model does not do yet (a standby/ready pair per drain).
      exportAdd: nodes > 0 && !job ? 2 : 0,
      exportDel: state.exports.size > 0 ? 1.5 : 0.1,
      query: 4,
      // One job per sequence (see gen-jobs.ts); later starts only reuse its id, an error.
      jobStart: !JOBS || nodes === 0 ? 0 : job ? 0.2 : state.jobStarted ? 0 : 3,
      jobVerb: !JOBS ? 0 : job ? 6 : 0.2,
    });
    switch (kind) {
      case "add":
        return addStep(rng, state, view);
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
  }
}
