/**
 * The monitor's event throttling (monitor/monitor.c `monitor_qapi_event_queue_no_reenter` and
 * `monitor_qapi_event_handler`): a throttled event is sent at once if none of its kind went out in
 * the last period; otherwise it waits for the period's end, replacing any event already waiting
 * there, and goes out then, keeping the timestamp it was made with. QUORUM_REPORT_BAD events are
 * throttled per node-name (`monitor_qapi_event_id_hash`).
 */
import type { QmpEvent } from "../engine.js";
import type { MainLoop, Timer } from "./main-loop.js";

/** `monitor_qapi_event_conf`: the throttled events of the block layer, and their periods in ns. */
const RATE_NS: Readonly<Record<string, number>> = {
  QUORUM_REPORT_BAD: 1_000_000_000,
  QUORUM_FAILURE: 1_000_000_000,
};

/** MonitorQAPIEventState: the period's timer, and the event waiting for it (if any). */
interface Throttled {
  timer: Timer;
  pending: QmpEvent | undefined;
}

export class EventRateLimit {
  readonly #state = new Map<string, Throttled>();

  constructor(
    private readonly loop: MainLoop,
    /** Sends an event on (to the monitor's queue). */
    private readonly send: (e: QmpEvent) => void,
  ) {}

  /** Queue `e` for sending, throttled where QEMU's monitor throttles it. */
  queue(e: QmpEvent): void {
    const rate = RATE_NS[e.event];
    if (rate === undefined) {
      this.send(e);
      return;
    }
    const key = e.event === "QUORUM_REPORT_BAD" ? `${e.event}\0${String(e.data?.["node-name"])}` : e.event;
    const st = this.#state.get(key);
    if (st) {
      st.pending = e;
      return;
    }
    this.send(e);
    const entry: Throttled = {
      pending: undefined,
      timer: this.loop.newTimer(() => {
        // The period is over: send what waited and start another, or forget the event.
        if (!entry.pending) {
          this.#state.delete(key);
          return;
        }
        this.send(entry.pending);
        entry.pending = undefined;
        entry.timer.mod(this.loop.nowNs + rate);
      }),
    };
    this.#state.set(key, entry);
    entry.timer.mod(this.loop.nowNs + rate);
  }
}
