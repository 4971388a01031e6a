/**
 * `expect context` on the runner's side (steps/expect-context.ts), on the model engine: what it
 * reports, and that observing a context leaves the graph, the exports, the events and the NBD
 * server as they were (the corpus in tests/scenarios/iothreads runs the same probe on QEMU).
 */
import { describe, expect, it } from "vitest";
import { recordingRunner } from "./support/recording-model.js";

const run = recordingRunner();

describe("expect context", () => {
  it("says where the node runs when it is not where expected", async () => {
    const { result } = await run([
      "iothread io0",
      "iothread io1",
      "add n0: null-co",
      "expect context n0 io0",
      'qmp x-blockdev-set-iothread {"node-name": "n0", "iothread": "io1"}',
      "expect context n0 main",
      "expect context n0/file main",
    ]);
    expect(result.failures.map((f) => f.message)).toEqual([
      "expected node 'n0' in context io0, but it is in main",
      "expected node 'n0' in context main, but it is in io1",
      "expected node 'n0/file' in context main, but it does not exist",
    ]);
  });

  it("leaves the node where it was, and the NBD server as it found it", async () => {
    const { result, engine } = await run([
      "iothread io0",
      "add n0: null-co",
      'qmp x-blockdev-set-iothread {"node-name": "n0", "iothread": "io0"}',
      "expect context n0 io0",
      "expect context n0 io0",
      // Without a pin, the node may still move: the probe put it back where it was.
      'qmp x-blockdev-set-iothread {"node-name": "n0", "iothread": null}',
      "expect context n0 main",
      "qmp query-block-exports",
      'qmp nbd-server-start {"addr": {"type": "unix", "data": {"path": "$TEST_DIR/other.sock"}}}',
    ]);
    expect(result.failures).toEqual([]);
    expect(result.transcript).toContain("qmp query-block-exports\n  return: []\n");
    expect(engine.sent.filter((s) => s.command === "nbd-server-stop")).toHaveLength(3);
  });
});
