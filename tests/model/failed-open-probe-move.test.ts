/**
 * A format node whose open fails over a file in an iothread: bdrv_open_inherit's `fail:` path
 * releases the probing BlockBackend first (blk_unref), and bdrv_detach_child moves the file, with
 * whatever is connected to it, back to the main loop. blockdev-add holds no AioContext lock, so
 * that move releases the iothread's lock it does not own and QEMU 7.2 aborts
 * (`qemu_mutex_unlock_impl: Operation not permitted`), whether or not the failed node was attached
 * to the file. Where something pins the file in its iothread the move is refused, and the add
 * just fails. Each case runs on the model, and on real QEMU when it is installed, where both
 * transcripts must be the same.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

const IN_IOTHREAD = ["add r0: raw file=(c1: null-co)", "iothread io2", 'qmp x-blockdev-set-iothread {"node-name": "r0", "iothread": "io2"}'];

function text(setup: string[], ...steps: string[]): string {
  return ['scenario "a failed open over a file in an iothread"', ...setup, ...steps, ""].join("\n");
}

/** `aborts`: whether QEMU dies in the last step. */
const CASES: Array<{ name: string; text: string; aborts: boolean }> = [
  {
    name: "the file child refused (read-only file): the failed node was never attached",
    text: text(["add r0: raw file=(c1: null-co)", "iothread io2", "reopen c1 read-only=on", 'qmp x-blockdev-set-iothread {"node-name": "c1", "iothread": "io2"}'], "add c8: compress file=(c9: qcow2 file=c1)"),
    aborts: true,
  },
  { name: "the format refusing the file's contents, the failed node attached", text: text(IN_IOTHREAD, "add c10: qcow2 file=c1"), aborts: true },
  { name: "an option refused before the driver opens", text: text(IN_IOTHREAD, "add c10: raw file=c1 force-share=on"), aborts: true },
  { name: "the file moved there by an export that does not pin it", text: text(["add r0: raw file=(c1: null-co)", "iothread io2", "export r0 id=e0 iothread=io2"], "add c10: qcow2 file=c1"), aborts: true },
  {
    name: "the file pinned there by a fixed-iothread export: no move, the add fails",
    text: text(["add r0: raw file=(c1: null-co)", "iothread io2", "reopen c1 read-only=on", "export r0 id=e0 iothread=io2 fixed-iothread=on"], "add c10: qcow2 file=c1 -> error /^Permission conflict on node 'c1'/", "show graph"),
    aborts: false,
  },
  { name: "the file in the main loop", text: text(["add r0: raw file=(c1: null-co)", "reopen c1 read-only=on"], 'add c10: qcow2 file=c1 -> error "Block node is read-only"', "show graph"), aborts: false },
];

const ABORT = "  QEMU crashed: SIGABRT\n(run stopped)\n";

describe("a failed open over a file in an iothread, on the model", () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.aborts ? "aborts in the add" : "goes on"}`, async () => {
      const r = await run(c.text, new ModelEngine());
      if (c.aborts) {
        expect(r.transcript!.endsWith(ABORT)).toBe(true);
        expect(r.transcript!.slice(0, -ABORT.length).split("\n").at(-2)).toMatch(/^add /);
      } else {
        expect(r.failures.filter((f) => f.kind !== "missing-golden")).toEqual([]);
      }
    });
  }
});

describeWithQemu("a failed open over a file in an iothread, on QEMU", () => {
  for (const c of CASES) {
    it(`${c.name}: the transcripts are the same`, async () => {
      const qemu = await run(c.text, new QemuEngine());
      expect(qemu.transcript!.endsWith(ABORT)).toBe(c.aborts);
      expect((await run(c.text, new ModelEngine())).transcript).toBe(qemu.transcript);
    }, 60_000);
  }
});
