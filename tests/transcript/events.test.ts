/** Events as transcripts print them: sorted members, nothing that timing decides. */
import { describe, expect, it } from "vitest";
import { formatEvent } from "../../src/transcript/events.js";

const ts = { seconds: 1795848236, microseconds: 850862 };

describe("formatEvent", () => {
  it("prints the name and the data's members sorted by name, never the timestamp", () => {
    expect(formatEvent({ event: "BLOCK_JOB_COMPLETED", timestamp: ts, data: { type: "stream", speed: 0, offset: 3145728, len: 3145728, device: "j0" } })).toBe(
      "BLOCK_JOB_COMPLETED device=j0 len=3145728 offset=3145728 speed=0 type=stream",
    );
    expect(formatEvent({ event: "BLOCK_JOB_PENDING", timestamp: ts, data: { type: "commit", id: "c0" } })).toBe("BLOCK_JOB_PENDING id=c0 type=commit");
  });

  it("leaves out len and offset where the job stopped mid-copy: cancelled, or completed with an error", () => {
    expect(formatEvent({ event: "BLOCK_JOB_CANCELLED", data: { device: "m1", len: 1048576, offset: 65536, speed: 0, type: "mirror" } })).toBe(
      "BLOCK_JOB_CANCELLED device=m1 speed=0 type=mirror",
    );
    expect(formatEvent({ event: "BLOCK_JOB_COMPLETED", data: { device: "s0", len: 9, offset: 3, speed: 0, type: "stream", error: "Input/output error" } })).toBe(
      'BLOCK_JOB_COMPLETED device=s0 error="Input/output error" speed=0 type=stream',
    );
    expect(formatEvent({ event: "BLOCK_JOB_READY", data: { device: "m0", len: 7, offset: 7, speed: 0, type: "mirror" } })).toBe(
      "BLOCK_JOB_READY device=m0 len=7 offset=7 speed=0 type=mirror",
    );
  });

  it("writes booleans as on/off, plain words bare, other strings and objects as JSON, and normalizes strings", () => {
    const line = formatEvent(
      { event: "X", data: { ok: true, no: false, word: "a/b-c", text: "two words", obj: { b: 1, a: [2] }, path: "/tmp/d/x" } },
      (t) => t.replace("/tmp/d", "$TEST_DIR"),
    );
    expect(line).toBe('X no=off obj={"a":[2],"b":1} ok=on path=$TEST_DIR/x text="two words" word=a/b-c');
  });

  it("prints an event without data as its name", () => {
    expect(formatEvent({ event: "SHUTDOWN" })).toBe("SHUTDOWN");
  });
});
