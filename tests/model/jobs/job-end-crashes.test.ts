/**
 * Two ways a held job's end crashes QEMU 7.2 after a reopen changed the graph under it, and the
 * model crashing the same way (each also runs on real QEMU when it is installed):
 * - a commit of an intermediate node whose overlay was made read-only (with its file) while the
 *   job was pending: bdrv_drop_intermediate moves the filter's parents to base, then cannot reopen
 *   the overlay read-write to write its new backing file name, and fails. The filter went with its
 *   last parent; commit_abort reads it and QEMU segfaults;
 * - a stream whose base's file was swapped for another node's while the job was pending: a drained
 *   section ends on an edge that never began it, and QEMU asserts in io.c.
 */
import { describe, expect, it } from "vitest";
import type { Engine } from "../../../src/engines/engine.js";
import { ModelEngine } from "../../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../../support/qemu.js";
import { inlineRunner } from "../../support/run-inline.js";

const run = inlineRunner(20_000);

/** A three-image chain, a job held pending, the reopens, then the finalize. */
function heldJob(job: string, reopens: string[]): string {
  return [
    'scenario "held job"',
    "require jobs",
    "image base.qcow2 qcow2 1M",
    "image mid.qcow2 qcow2 1M",
    "image top.qcow2 qcow2 1M",
    "graph {",
    "  base: qcow2 file=(base-file: file filename=base.qcow2) backing=null read-only=on",
    "  mid: qcow2 file=(mid-file: file filename=mid.qcow2) backing=base",
    "  top: qcow2 file=(top-file: file filename=top.qcow2) backing=mid",
    "}",
    `${job} auto-finalize=off`,
    "wait j0 pending",
    ...reopens,
    "job finalize j0",
    "wait j0 null",
    "show graph",
    "",
  ].join("\n");
}

const COMMIT = "job commit j0 top top-node=mid base-node=base";
const READ_ONLY_OVERLAY = ["reopen top read-only=on", "reopen top-file read-only=on"];
const STREAM = "job stream j0 top base-node=mid";
const SWAPPED_FILE = ["reopen mid file=base-file read-only=on"];

/** The crash a run ended in: its summary signal and what the engine says QEMU printed. */
async function crashOf(text: string, engine: Engine): Promise<{ message: string; transcriptEnd: string }> {
  const r = await run(text, engine);
  expect(r.failures).toHaveLength(1);
  return { message: r.failures[0]!.message, transcriptEnd: r.transcript!.split("\n").slice(-4).join("\n") };
}

describe("a held job's end after reopens under it, on the model", () => {
  it("a commit whose overlay cannot take its new backing name segfaults in commit_abort", async () => {
    const c = await crashOf(heldJob(COMMIT, READ_ONLY_OVERLAY), new ModelEngine());
    expect(c.message).toMatch(/^E_QEMU_CRASHED: QEMU died during 'job' \(QMP block-job-finalize, killed by signal SIGSEGV\)/);
    expect(c.message).toContain("commit_abort");
  });

  it("the same commit ends well when only the overlay is read-only: it is reopened read-write for the name", async () => {
    const r = await run(heldJob(COMMIT, ["reopen top read-only=on"]), new ModelEngine());
    expect(r.failures.filter((f) => f.kind !== "missing-golden")).toEqual([]);
    expect(r.transcript).toContain("top -backing-> base");
  });

  it("a stream whose base's file was swapped asserts when its drained section ends", async () => {
    const c = await crashOf(heldJob(STREAM, SWAPPED_FILE), new ModelEngine());
    expect(c.message).toMatch(/killed by signal SIGABRT/);
    expect(c.message).toContain("../../block/io.c:64: bdrv_parent_drained_end_single_no_poll: Assertion `c->parent_quiesce_counter > 0' failed.");
  });
});

describeWithQemu("a held job's end after reopens under it, on QEMU", () => {
  it("the commit with only the overlay read-only: the transcripts are the same", async () => {
    const text = heldJob(COMMIT, ["reopen top read-only=on"]);
    const [model, qemu] = [await run(text, new ModelEngine()), await run(text, new QemuEngine())];
    expect(model.transcript).toBe(qemu.transcript);
  }, 30_000);

  for (const [name, job, reopens] of [
    ["commit with a read-only overlay", COMMIT, READ_ONLY_OVERLAY],
    ["stream with a swapped base file", STREAM, SWAPPED_FILE],
  ] as const) {
    it(`${name}: the model's transcript and signal are QEMU's`, async () => {
      const text = heldJob(job, [...reopens]);
      const [model, qemu] = [await crashOf(text, new ModelEngine()), await crashOf(text, new QemuEngine())];
      expect(model.transcriptEnd).toBe(qemu.transcriptEnd);
      const signal = (m: string) => /killed by signal (\w+)/.exec(m)?.[1];
      expect(signal(model.message)).toBe(signal(qemu.message));
      if (job === STREAM) expect(qemu.message).toContain("bdrv_parent_drained_end_single_no_poll: Assertion `c->parent_quiesce_counter > 0' failed.");
    }, 30_000);
  }
});
