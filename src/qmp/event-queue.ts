/**
 * Asynchronous QMP events, kept apart from replies: queued in arrival order until taken, or handed
 * straight to a waiter that asked for that event (its name and, optionally, data it must contain).
 * Events no waiter wants stay queued for the next one (machine.py's events_wait).
 */
import { QmpEventTimeoutError } from "./errors.js";
import { eventMatches, type QmpEventMatch } from "./event-match.js";
import type { QmpEvent } from "./wire.js";

interface Waiter {
  name: string;
  match: QmpEventMatch | undefined;
  resolve(event: QmpEvent): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class EventQueue {
  #events: QmpEvent[] = [];
  readonly #waiters = new Set<Waiter>();
  #failure: Error | undefined;

  /** Deliver an event: to the oldest waiter that wants it, else onto the queue. */
  push(event: QmpEvent): void {
    for (const waiter of this.#waiters) {
      if (eventMatches(event, waiter.name, waiter.match)) {
        this.#settle(waiter);
        waiter.resolve(event);
        return;
      }
    }
    this.#events.push(event);
  }

  /** Every queued event, oldest first; the queue is emptied. */
  take(): QmpEvent[] {
    const events = this.#events;
    this.#events = [];
    return events;
  }

  /** The first queued event with this name and data (taken off the queue), or the next one to arrive. */
  wait(name: string, timeoutMs: number, match?: QmpEventMatch): Promise<QmpEvent> {
    const index = this.#events.findIndex((e) => eventMatches(e, name, match));
    if (index >= 0) return Promise.resolve(this.#events.splice(index, 1)[0]!);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        name,
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#settle(waiter);
          reject(new QmpEventTimeoutError(name, timeoutMs));
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  /** The connection is gone: current and future waiters fail with `error`; queued events stay takeable. */
  fail(error: Error): void {
    this.#failure ??= error;
    for (const waiter of [...this.#waiters]) {
      this.#settle(waiter);
      waiter.reject(error);
    }
  }

  #settle(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    this.#waiters.delete(waiter);
  }
}
