/** The pieces of the job model that stand alone: job.c's tables, the rate limit, the dirty bitmap. */
import { describe, expect, it } from "vitest";
import { DirtyBitmap } from "../../../src/engines/model/jobs/dirty-bitmap.js";
import { applyVerb, JOB_STATUSES, statusIsCompleted, statusIsReady, transitionAllowed } from "../../../src/engines/model/jobs/job-status.js";
import { RateLimit } from "../../../src/engines/model/jobs/ratelimit.js";
import { QmpFailure } from "../../../src/engines/model/qmp-failure.js";

describe("job.c's tables", () => {
  it("allow exactly QEMU's transitions", () => {
    const allowed = JOB_STATUSES.flatMap((from) => JOB_STATUSES.filter((to) => transitionAllowed(from, to)).map((to) => `${from}>${to}`));
    expect(allowed).toEqual([
      "undefined>created",
      "created>running",
      "created>aborting",
      "created>null",
      "running>paused",
      "running>ready",
      "running>waiting",
      "running>aborting",
      "paused>running",
      "ready>standby",
      "ready>waiting",
      "ready>aborting",
      "standby>ready",
      "waiting>pending",
      "waiting>aborting",
      "pending>aborting",
      "pending>concluded",
      "aborting>aborting",
      "aborting>concluded",
      "concluded>null",
    ]);
  });

  it("refuse a verb with QEMU's message", () => {
    expect(() => applyVerb("j0", "running", "finalize")).toThrow(new QmpFailure("Job 'j0' in state 'running' cannot accept command verb 'finalize'"));
    expect(() => applyVerb("j0", "concluded", "dismiss")).not.toThrow();
    expect(() => applyVerb("j0", "standby", "complete")).not.toThrow();
    expect(() => applyVerb("j0", "waiting", "pause")).toThrow(/cannot accept command verb 'pause'/);
  });

  it("group statuses as job_is_ready and job_is_completed do", () => {
    expect(JOB_STATUSES.filter(statusIsReady)).toEqual(["ready", "standby"]);
    expect(JOB_STATUSES.filter(statusIsCompleted)).toEqual(["waiting", "pending", "aborting", "concluded", "null"]);
  });
});

describe("RateLimit", () => {
  it("never delays without a speed", () => {
    const r = new RateLimit();
    r.setSpeed(0, 100e6);
    expect(r.calculateDelay(1 << 30, 0)).toBe(0);
  });

  it("lets a slice's quota through, then delays until the extended slice ends", () => {
    const r = new RateLimit();
    r.setSpeed(10_000_000, 100e6); // 1,000,000 bytes a slice
    // The first slice starts at the first dispatch after the (zero) end of none.
    expect(r.calculateDelay(600_000, 1)).toBe(0);
    expect(r.calculateDelay(600_000, 10e6)).toBe(1 + 120e6 - 10e6);
    // A new slice once the last one is over.
    expect(r.calculateDelay(100, 200e6)).toBe(0);
  });

  it("has a quota of at least one byte (speed 1 sleeps a slice per byte)", () => {
    const r = new RateLimit();
    r.setSpeed(1, 100e6);
    expect(r.calculateDelay(512 * 1024, 0)).toBe(512 * 1024 * 100e6);
  });
});

describe("DirtyBitmap", () => {
  it("counts whole chunks and walks them in order", () => {
    const b = new DirtyBitmap(65536, 1 << 20);
    b.set(0, 1 << 20);
    expect(b.count()).toBe(1 << 20);
    b.reset(0, 3 * 65536);
    expect(b.count()).toBe(13 * 65536);
    expect(b.next(0)).toBe(3 * 65536);
    expect(b.get(2 * 65536)).toBe(false);
    b.reset(3 * 65536, 13 * 65536);
    expect(b.next(0)).toBeUndefined();
  });

  it("rounds a partial last chunk up", () => {
    const b = new DirtyBitmap(65536, 65536 + 512);
    b.set(0, 65536 + 512);
    expect(b.count()).toBe(2 * 65536);
  });
});
