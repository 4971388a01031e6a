/** The run's event journal: one order for every step that waits for events, nothing lost between them. */
import { describe, expect, it } from "vitest";
import type { QmpEvent, WaitEventOptions } from "../../src/engines/engine.js";
import { eventMatches } from "../../src/qmp/event-match.js";
import { QmpEventTimeoutError } from "../../src/qmp/errors.js";
import { EventJournal, type EventSource } from "../../src/runner/event-journal.js";

/** An engine's event queue, as the engines keep it: waitEvent takes the first match, leaves the rest. */
class Queue implements EventSource {
  readonly queued: QmpEvent[] = [];

  push(e: QmpEvent): void {
    this.queued.push(e);
  }

  takeEvents(): QmpEvent[] {
    return this.queued.splice(0);
  }

  async waitEvent(name: string, opts: WaitEventOptions): Promise<QmpEvent> {
    const i = this.queued.findIndex((e) => eventMatches(e, name, opts.match));
    if (i < 0) throw new QmpEventTimeoutError(name, opts.timeoutMs);
    return this.queued.splice(i, 1)[0]!;
  }
}

function engineWith(...events: QmpEvent[]): Queue {
  const q = new Queue();
  for (const e of events) q.push(e);
  return q;
}

const ev = (event: string, data: Record<string, unknown>): QmpEvent => ({ event, data });

describe("EventJournal", () => {
  it("takes what a predicate selects, oldest first, and keeps the rest in order", () => {
    const engine = engineWith(ev("A", { id: 1 }), ev("B", { id: 2 }), ev("A", { id: 3 }));
    const journal = new EventJournal(engine);
    expect(journal.take((e) => e.event === "A").map((e) => e.data!.id)).toEqual([1, 3]);
    engine.push(ev("A", { id: 4 }));
    expect(journal.take(() => true).map((e) => e.data!.id)).toEqual([2, 4]);
    expect(journal.take(() => true)).toEqual([]);
  });

  it("wait takes the oldest matching event already collected before asking the engine", async () => {
    const engine = engineWith(ev("DONE", { id: "a" }), ev("DONE", { id: "b" }));
    const journal = new EventJournal(engine);
    journal.collect();
    engine.push(ev("DONE", { id: "b", late: true }));
    expect((await journal.wait("DONE", { id: "b" }, 1000)).data).toEqual({ id: "b" });
    expect((await journal.wait("DONE", { id: "b" }, 1000)).data).toEqual({ id: "b", late: true });
    expect(journal.take(() => true).map((e) => e.data)).toEqual([{ id: "a" }]);
  });

  it("a wait for an event not yet there goes to the engine, whose other events stay for the journal", async () => {
    const engine = engineWith();
    const journal = new EventJournal(engine);
    engine.push(ev("OTHER", { n: 1 }));
    engine.push(ev("WANTED", { n: 2 }));
    // Nothing collected yet: the journal looks at what the engine has, takes WANTED, keeps OTHER.
    expect((await journal.wait("WANTED", undefined, 1000)).data).toEqual({ n: 2 });
    expect(journal.take(() => true).map((e) => e.event)).toEqual(["OTHER"]);
    await expect(journal.wait("NEVER", undefined, 10)).rejects.toThrow();
  });

  it("holds the flood of events a job whose errors are ignored sends (hundreds of thousands)", () => {
    const flood = Array.from({ length: 300_000 }, (_, i) => ev("BLOCK_JOB_ERROR", { n: i }));
    const engine = engineWith(...flood.slice(0, 10), ev("JOB_STATUS_CHANGE", { status: "paused" }));
    engine.queued.push(...flood.slice(10, 1000));
    for (let i = 1000; i < flood.length; i++) engine.queued.push(flood[i]!);
    const journal = new EventJournal(engine);
    expect(journal.take((e) => e.event === "JOB_STATUS_CHANGE").map((e) => e.data)).toEqual([{ status: "paused" }]);
    expect(journal.take((e) => e.event === "BLOCK_JOB_ERROR")).toHaveLength(flood.length);
  });
});
