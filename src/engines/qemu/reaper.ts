/**
 * Makes sure no QEMU process outlives the Node process that started it, even on Ctrl-C.
 *
 * Signal handlers are process-wide, so this is the one deliberate piece of module state: the set of
 * live QEMU processes and the handlers, installed when the first process is added and removed with
 * the last. A handler SIGKILLs every live process synchronously, then lets the signal have its
 * normal effect: if nobody else listens it re-raises the signal; otherwise the other listeners decide
 * as if we had never been there. The handlers never keep the event loop alive (Node does not count
 * signal listeners as work).
 */

/** Anything that can be killed at once, synchronously. */
export interface Reapable {
  /** SIGKILL the process now; must not throw. */
  killNow(): void;
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

class Reaper {
  readonly #live = new Set<Reapable>();
  #installed = false;

  /** Track a live process until `release`. */
  track(process: Reapable): void {
    this.#live.add(process);
    if (!this.#installed) this.#install();
  }

  /** Stop tracking a process (it has exited or is being reaped). */
  release(process: Reapable): void {
    this.#live.delete(process);
    if (this.#live.size === 0 && this.#installed) this.#uninstall();
  }

  /** How many processes are tracked (for tests). */
  get size(): number {
    return this.#live.size;
  }

  #killAll = (): void => {
    for (const process of this.#live) process.killNow();
    this.#live.clear();
  };

  #onSignal = (signal: NodeJS.Signals): void => {
    this.#killAll();
    this.#uninstall();
    // Nobody else listening: re-raise so the default action (death by this signal) happens. Anyone
    // else (the application, or signal-exit from execa's cleanup, which runs right after us and
    // re-raises when it is alone) keeps the decision.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };

  #install(): void {
    this.#installed = true;
    // First in line, so every QEMU is dead before any other handler decides the process's fate.
    for (const signal of SIGNALS) process.prependListener(signal, this.#onSignal);
    process.on("exit", this.#killAll);
  }

  #uninstall(): void {
    this.#installed = false;
    for (const signal of SIGNALS) process.off(signal, this.#onSignal);
    process.off("exit", this.#killAll);
  }
}

/** The process-wide reaper. */
export const reaper = new Reaper();
