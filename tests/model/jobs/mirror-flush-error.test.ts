/**
 * A mirror whose flush of its target fails (block/mirror.c `mirror_flush`): the error takes the
 * target's error action, as a write's would. Under `stop` the job pauses with BLOCK_JOB_ERROR and
 * goes round its loop again when resumed: the flush before READY is tried again, and so is the one
 * of the switch-over, after the source's drained section ended. The cases are qemu-iotests
 * tests/mirror-ready-cancel-error (a transient and a persistent error at the switch-over of a
 * cancelled READY mirror) and the same rule at the flush before READY; the model refused all of
 * them. Each also runs on real QEMU when it is installed, where both transcripts must be the same.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../../support/qemu.js";
import { inlineRunner } from "../../support/run-inline.js";

const run = inlineRunner(30_000);

/** A READY mirror cancelled after a guest write; its target's second flush fails (once or always). */
function atSwitchOver(once: boolean, ...end: string[]): string {
  return [
    'scenario "a cancelled READY mirror whose last flush fails"',
    "require io",
    "require jobs",
    "image source.img qcow2 1M",
    "image target.img qcow2 1M",
    "add init: qcow2 file=(file filename=source.img)",
    'io init "write -P 1 0 64k"',
    "del init",
    "add source: qcow2 file=(file filename=source.img)",
    `qmp blockdev-add {"node-name": "target", "driver": "qcow2", "file": {"driver": "blkdebug", "image": {"driver": "file", "filename": "$TEST_DIR/target.img"}, "set-state": [{"event": "flush_to_disk", "state": 1, "new_state": 2}], "inject-error": [{"event": "flush_to_disk", "once": ${once}, "immediately": true, "state": 2}]}}`,
    "job mirror mirror source target=target sync=full filter-node-name=mirror-top on-target-error=stop",
    "wait mirror ready",
    'io mirror-top "write -P 2 0 64k"',
    "job cancel mirror",
    "wait event BLOCK_JOB_ERROR device=mirror",
    "wait mirror standby",
    ...end,
    "",
  ].join("\n");
}

/** The target's first flush, the one before READY, fails once. */
const BEFORE_READY = [
  'scenario "a mirror whose flush before READY fails"',
  "require io",
  "require jobs",
  "image s.raw raw 64k",
  "image t.raw raw 64k",
  "add s: raw file=(file filename=s.raw)",
  'io s "write -P 1 0 64k"',
  'qmp blockdev-add {"node-name": "t", "driver": "raw", "file": {"driver": "blkdebug", "image": {"driver": "file", "filename": "$TEST_DIR/t.raw"}, "inject-error": [{"event": "flush_to_disk", "once": true, "immediately": true}]}}',
  "job mirror m s target=t sync=full on-target-error=stop",
  "wait event BLOCK_JOB_ERROR device=m",
  "wait m paused",
  "job resume m",
  "wait m ready",
  "job complete m",
  "wait m null",
  'io t "read -P 1 0 64k"',
  "",
].join("\n");

const CASES = {
  "a transient error at the switch-over, resumed": atSwitchOver(true, "job resume mirror", "wait mirror null"),
  "a persistent error at the switch-over, cancelled by force": atSwitchOver(false, "job cancel mirror force=on", "wait mirror null"),
  "an error at the flush before READY, resumed": BEFORE_READY,
};

describe("a mirror whose target's flush fails, on the model", () => {
  it("a transient error at the switch-over: the job stops, and completes once resumed", async () => {
    const r = await run(CASES["a transient error at the switch-over, resumed"], new ModelEngine());
    expect(r.failures).toEqual([]);
    expect(r.transcript).toContain("event: BLOCK_JOB_ERROR action=stop device=mirror operation=write");
    expect(r.transcript).toContain("event: BLOCK_JOB_COMPLETED device=mirror len=1114112 offset=1114112 speed=0 type=mirror");
  });

  it("a persistent error at the switch-over: a forced cancel ends the stopped job", async () => {
    const r = await run(CASES["a persistent error at the switch-over, cancelled by force"], new ModelEngine());
    expect(r.failures).toEqual([]);
    expect(r.transcript).toContain("event: BLOCK_JOB_CANCELLED device=mirror speed=0 type=mirror");
  });

  it("an error at the flush before READY: the job stops before READY, and goes READY once resumed", async () => {
    const r = await run(CASES["an error at the flush before READY, resumed"], new ModelEngine());
    expect(r.failures).toEqual([]);
    expect(r.transcript).toContain("event: BLOCK_JOB_READY device=m len=65536 offset=65536 speed=0 type=mirror");
  });
});

describeWithQemu("a mirror whose target's flush fails, on QEMU", () => {
  for (const [name, text] of Object.entries(CASES)) {
    it(`${name}: the transcripts are the same`, async () => {
      const qemu = await run(text, new QemuEngine());
      expect(qemu.failures).toEqual([]);
      expect((await run(text, new ModelEngine())).transcript).toBe(qemu.transcript);
    }, 60_000);
  }
});
