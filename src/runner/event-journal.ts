/**
 * The run's events, in the order the engine sent them, for steps that wait for one event or take
 * a job's events at once.
 *
 * The engine's own queue answers "the first event called NAME that matches" (waitEvent); a `wait`
 * on a job also needs "every event of this job that has arrived", whatever their names, without
 * waiting for more. So the journal moves what the engine has queued into its own list (collect) and
 * answers both from there; a wait for an event not yet there goes to the engine, which keeps the
 * events that do not match queued, in order, for the next collect. Every step that waits for an
 * event goes through the journal, so none can miss an event another one collected.
 */
import type { Engine, QmpEvent, QmpEventMatch } from "../engines/engine.js";
import { eventMatches } from "../qmp/event-match.js";

/** What the journal needs of an engine. */
export type EventSource = Pick<Engine, "takeEvents" | "waitEvent">;

export class EventJournal {
  readonly #engine: EventSource;
  #events: QmpEvent[] = [];

  constructor(engine: EventSource) {
    this.#engine = engine;
  }

  /** Moves what the engine has queued into the journal, after what is already there. */
  collect(): void {
    // One at a time: a job whose errors are ignored can queue hundreds of thousands, more than a
    // spread's arguments may be.
    for (const e of this.#engine.takeEvents()) this.#events.push(e);
  }

  /** Takes out, oldest first, every event collected so far that `keep` selects. */
  take(keep: (event: QmpEvent) => boolean): QmpEvent[] {
    this.collect();
    const taken: QmpEvent[] = [];
    const kept: QmpEvent[] = [];
    for (const e of this.#events) (keep(e) ? taken : kept).push(e);
    this.#events = kept;
    return taken;
  }

  /**
   * The oldest event called `name` whose data contains `match`, taken out: one already here, or the
   * first to arrive. Rejects with QmpEventTimeoutError after `timeoutMs` (virtual time on the model).
   */
  async wait(name: string, match: QmpEventMatch | undefined, timeoutMs: number): Promise<QmpEvent> {
    const [found] = this.take(firstOnly((e) => eventMatches(e, name, match)));
    if (found) return found;
    return this.#engine.waitEvent(name, { timeoutMs, ...(match ? { match } : {}) });
  }
}

/** A predicate that selects only the first event it accepts. */
function firstOnly(pred: (e: QmpEvent) => boolean): (e: QmpEvent) => boolean {
  let done = false;
  return (e) => {
    if (done || !pred(e)) return false;
    done = true;
    return true;
  };
}
