/**
 * A job keeps the AioContext it last ran in (job->aio_context: its main node's at job_create, then
 * wherever a move takes its nodes). Once the job has let its nodes go, nothing moves it any more, and
 * its iothread may be deleted. QEMU 7.2 frees a block job with that context's lock taken
 * (job_unref_locked), so a job left concluded there aborts QEMU when it is dismissed, or at quit,
 * where job_cancel_sync_all dismisses it (`qemu_mutex_lock_impl: Assertion `mutex->initialized'
 * failed`). A job dismissed first, or one whose nodes took it back to the main loop as they left
 * it, is no crash. Each case also runs on real QEMU when it is installed.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

/** A mirror from n1 (exported in io0, `pin`ned there or not) ended by a cancel once ready, its exports gone. */
function concluded(pin: boolean, ...steps: string[]): string {
  return [
    'scenario "a concluded job whose iothread goes"',
    "require jobs",
    "image t.qcow2 qcow2 1M",
    "iothread io0",
    "add n1: null-co size=1M",
    `export n1 id=e0 writable=on iothread=io0${pin ? " fixed-iothread=on" : ""}`,
    "add tgt: qcow2 file=(file filename=t.qcow2)",
    "job mirror j1 n1 target=tgt sync=full auto-dismiss=off",
    "wait j1 ready",
    "job cancel j1",
    "wait j1 concluded",
    "unexport e0",
    ...steps,
    "",
  ].join("\n");
}

const DEL = 'qmp object-del {"id": "io0"}';
const LOCKED = "../../util/qemu-thread-posix.c:87: qemu_mutex_lock_impl: Assertion `mutex->initialized' failed.";

type End = "at quit" | "at dismiss" | "none";

const CASES: Array<{ name: string; text: string; end: End }> = [
  { name: "a job left concluded in a deleted iothread", text: concluded(true, DEL), end: "at quit" },
  { name: "a job dismissed after its iothread was deleted", text: concluded(true, DEL, "job dismiss j1"), end: "at dismiss" },
  { name: "a job dismissed before its iothread was deleted", text: concluded(true, "job dismiss j1", DEL), end: "none" },
  { name: "a job whose nodes took it to the main loop as they left it", text: concluded(false, DEL, "job dismiss j1"), end: "none" },
];

describe("a job whose iothread is deleted, on the model", () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.end === "none" ? "no crash" : `aborts ${c.end}`}`, async () => {
      const r = await run(c.text, new ModelEngine());
      if (c.end === "at quit") {
        expect(r.transcript!.endsWith(`${DEL}\n  ok\n(quit)\n  QEMU crashed: SIGABRT\n`)).toBe(true);
        expect(r.failures).toContainEqual(expect.objectContaining({ message: "QEMU crashed at quit (SIGABRT)", details: `QEMU log (tail):\n${LOCKED}` }));
      } else if (c.end === "at dismiss") {
        expect(r.transcript!.endsWith("job dismiss j1\n  QEMU crashed: SIGABRT\n(run stopped)\n")).toBe(true);
        expect(r.failures[0]!.message).toContain(LOCKED);
      } else {
        expect(r.failures.filter((f) => f.kind !== "missing-golden")).toEqual([]);
      }
    });
  }
});

describeWithQemu("a job whose iothread is deleted, on QEMU", () => {
  for (const c of CASES) {
    it(`${c.name}: the transcripts are the same`, async () => {
      const qemu = await run(c.text, new QemuEngine());
      expect((await run(c.text, new ModelEngine())).transcript).toBe(qemu.transcript);
    }, 60_000);
  }
});
