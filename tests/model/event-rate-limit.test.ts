/**
 * The monitor's throttling of QUORUM_REPORT_BAD (per node-name) and QUORUM_FAILURE
 * (monitor/monitor.c): the first of a second goes out at once, the last one waiting goes out when
 * the second ends (keeping its own timestamp), the ones between are dropped.
 */
import { describe, expect, it } from "vitest";
import type { QmpEvent } from "../../src/engines/engine.js";
import { EventRateLimit } from "../../src/engines/model/event-rate-limit.js";
import { MainLoop, msToNs } from "../../src/engines/model/main-loop.js";

const bad = (node: string, sector: number): QmpEvent => ({ event: "QUORUM_REPORT_BAD", data: { "node-name": node, "sector-num": sector }, timestamp: { seconds: 0, microseconds: sector } });

describe("monitor event throttling in the model", () => {
  it("sends the first at once and the last of the period when it ends, per node-name", () => {
    const loop = new MainLoop();
    const sent: QmpEvent[] = [];
    const limit = new EventRateLimit(loop, (e) => sent.push(e));
    limit.queue(bad("a", 1));
    limit.queue(bad("a", 2));
    limit.queue(bad("b", 3));
    limit.queue(bad("a", 4));
    limit.queue({ event: "BLOCK_EXPORT_DELETED", data: { id: "e0" }, timestamp: { seconds: 0, microseconds: 5 } });
    expect(sent.map((e) => e.data?.["sector-num"] ?? e.event)).toEqual([1, 3, "BLOCK_EXPORT_DELETED"]);
    loop.advanceTo(msToNs(999));
    expect(sent).toHaveLength(3);
    loop.advanceTo(msToNs(1000));
    // The waiting event keeps the timestamp it was made with.
    expect(sent.at(-1)).toEqual(bad("a", 4));
    // Another period started with it: the next one waits again, then nothing is left.
    limit.queue(bad("a", 6));
    expect(sent).toHaveLength(4);
    loop.advanceTo(msToNs(2000));
    expect(sent.at(-1)).toEqual(bad("a", 6));
    loop.settle();
    limit.queue(bad("a", 7));
    expect(sent.at(-1)).toEqual(bad("a", 7));
  });

  it("throttles QUORUM_FAILURE whatever its data", () => {
    const loop = new MainLoop();
    const sent: QmpEvent[] = [];
    const limit = new EventRateLimit(loop, (e) => sent.push(e));
    const failure = (ref: string): QmpEvent => ({ event: "QUORUM_FAILURE", data: { reference: ref }, timestamp: { seconds: 0, microseconds: 0 } });
    limit.queue(failure("q0"));
    limit.queue(failure("q1"));
    expect(sent.map((e) => e.data?.["reference"])).toEqual(["q0"]);
    loop.settle();
    expect(sent.map((e) => e.data?.["reference"])).toEqual(["q0", "q1"]);
  });
});
