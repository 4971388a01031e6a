/**
 * The model's main loop: QEMU's timers and bottom halves (util/qemu-timer.c, util/async.c) on a
 * virtual clock, so asynchronous work (block jobs, later) advances only when the engine lets time
 * pass, and a run repeats exactly. Nothing here reads the wall clock.
 *
 * - A bottom half (qemu_bh_schedule / aio_bh_schedule_oneshot) runs without time passing, before
 *   any timer, in the order scheduled; those a bottom half schedules run in the same round.
 * - A timer (timer_new_ns, timer_mod, timer_del) runs when the clock reaches its deadline; timers
 *   run in deadline order, ties in the order they were armed.
 *
 * The engine decides when time moves: commands run only bottom halves; waiting for an event steps
 * timer by timer; run() and settle() are there for the rest. See docs/engines.md.
 */
import { BlockcheckError } from "../../errors.js";

const NS_PER_MS = 1_000_000;

/** settle() found work still pending after its step budget: something re-arms a timer forever. */
export class MainLoopBusyError extends BlockcheckError {
  constructor(readonly steps: number) {
    super("E_MODEL_BUSY", `the model's main loop is still busy after ${steps} steps (a timer that always re-arms never settles; advance a fixed time instead)`);
  }
}

/** A timer of the loop, armed at most once at a time (QEMUTimer). */
export interface Timer {
  /** Arm, or move, to fire when the virtual clock reaches `deadlineNs` (timer_mod). */
  mod(deadlineNs: number): void;
  /** Disarm; safe when not armed (timer_del). */
  del(): void;
  /** The deadline while armed (timer_pending), else undefined. */
  readonly deadlineNs: number | undefined;
}

interface ArmedTimer {
  callback: () => void;
  deadlineNs: number | undefined;
  /** Arming order, for ties. */
  seq: number;
}

export class MainLoop {
  #nowNs = 0;
  #seq = 0;
  readonly #armed = new Set<ArmedTimer>();
  #bottomHalves: Array<() => void> = [];
  /** Those of #bottomHalves that QEMU schedules itself on the main context (not a thread pool's completion). */
  readonly #mainContext = new Set<() => void>();

  /** Virtual nanoseconds since the engine started (QEMU_CLOCK_VIRTUAL). */
  get nowNs(): number {
    return this.#nowNs;
  }

  /** Whether no bottom half and no armed timer is left. */
  get idle(): boolean {
    return this.#bottomHalves.length === 0 && this.#armed.size === 0;
  }

  /** A new, unarmed timer that calls `callback` when it fires (timer_new_ns). */
  newTimer(callback: () => void): Timer {
    const timer: ArmedTimer = { callback, deadlineNs: undefined, seq: 0 };
    const armed = this.#armed;
    const loop = this;
    return {
      mod(deadlineNs: number) {
        if (!Number.isFinite(deadlineNs)) throw new RangeError(`timer deadline must be finite (got ${deadlineNs})`);
        timer.deadlineNs = Math.max(deadlineNs, loop.#nowNs);
        timer.seq = loop.#seq++;
        armed.add(timer);
      },
      del() {
        timer.deadlineNs = undefined;
        armed.delete(timer);
      },
      get deadlineNs() {
        return timer.deadlineNs;
      },
    };
  }

  /** A timer armed to fire `delayNs` from now. */
  after(delayNs: number, callback: () => void): Timer {
    const timer = this.newTimer(callback);
    timer.mod(this.#nowNs + delayNs);
    return timer;
  }

  /** Run `callback` at the next turn of the loop, before time passes (a one-shot bottom half). */
  scheduleBh(callback: () => void): void {
    this.#bottomHalves.push(callback);
  }

  /**
   * A bottom half QEMU schedules on the main AioContext from the main thread (job_co_entry's
   * job_exit), not a completion a worker thread sends: see runMainContextBottomHalves.
   */
  scheduleMainContextBh(callback: () => void): void {
    this.#mainContext.add(callback);
    this.scheduleBh(callback);
  }

  /**
   * Before a non-coroutine QMP command's reply goes out, QEMU's main loop turns once more: the
   * command runs in a bottom half of the main context (do_qmp_dispatch_bh), whose aio_co_wake of
   * the monitor's dispatcher coroutine, which lives in the iohandler context, is a bottom half
   * there; the next glib iteration dispatches the main context's source before the iohandler's
   * (attached first in qemu_init_main_loop). So the main-context bottom halves the command
   * scheduled run before it is answered; what they schedule, and I/O completions, after. How many ran.
   */
  runMainContextBottomHalves(): number {
    const round = this.#bottomHalves.filter((bh) => this.#mainContext.has(bh));
    this.#bottomHalves = this.#bottomHalves.filter((bh) => !this.#mainContext.has(bh));
    this.#mainContext.clear();
    for (const bh of round) bh();
    return round.length;
  }

  /** Run every pending bottom half, and those they schedule; how many ran. */
  runBottomHalves(): number {
    let ran = 0;
    while (this.#bottomHalves.length > 0) {
      const round = this.#bottomHalves;
      this.#bottomHalves = [];
      for (const bh of round) {
        ran++;
        this.#mainContext.delete(bh);
        bh();
      }
    }
    return ran;
  }

  /**
   * One turn: the pending bottom halves if there are any, else the earliest timer due at or before
   * `limitNs` (the clock first moves to its deadline). False when nothing could run.
   */
  step(limitNs = Infinity): boolean {
    if (this.runBottomHalves() > 0) return true;
    const next = this.#earliest();
    if (!next || next.deadlineNs! > limitNs) return false;
    this.#nowNs = next.deadlineNs!;
    next.deadlineNs = undefined;
    this.#armed.delete(next);
    next.callback();
    return true;
  }

  /**
   * What QEMU's main loop does between two commands without time passing: the bottom halves, and
   * the timers already due (a job's zero-delay sleep), and what they schedule, until nothing is
   * due now or `maxTurns` turns have run (a job copying a huge empty image chunk after chunk
   * without a delay; the rest runs at the next command or wait, as it would run on while QEMU
   * answers). Returns how many turns ran.
   */
  runDue(maxTurns = 10_000): number {
    let turns = 0;
    while (turns < maxTurns && this.step(this.#nowNs)) turns++;
    return turns;
  }

  /** Let `ms` of virtual time pass, running everything that falls due; the clock ends at now + ms. */
  run(ms: number): void {
    this.advanceTo(this.#nowNs + ms * NS_PER_MS);
  }

  /** Run everything due up to `deadlineNs`, then set the clock there (never backwards). */
  advanceTo(deadlineNs: number): void {
    while (this.step(deadlineNs));
    this.#nowNs = Math.max(this.#nowNs, deadlineNs);
  }

  /** Run until idle, however much virtual time that takes; MainLoopBusyError after `maxSteps` turns. */
  settle(maxSteps = 100_000): void {
    for (let steps = 0; this.step(); steps++) {
      if (steps >= maxSteps) throw new MainLoopBusyError(steps);
    }
  }

  #earliest(): ArmedTimer | undefined {
    let best: ArmedTimer | undefined;
    for (const t of this.#armed) {
      if (!best || t.deadlineNs! < best.deadlineNs! || (t.deadlineNs === best.deadlineNs && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

/** Milliseconds as virtual nanoseconds. */
export function msToNs(ms: number): number {
  return ms * NS_PER_MS;
}
