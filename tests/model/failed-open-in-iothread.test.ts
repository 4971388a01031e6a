/**
 * Ways QEMU 7.2 waits for, or lets go of, a node in an iothread without holding that iothread's
 * AioContext lock, and aborts (`qemu_mutex_unlock_impl: Operation not permitted`, SIGABRT):
 *
 * - a format node opened over a file in an iothread: bdrv_open_inherit's probing BlockBackend
 *   keeps the file there, so the node joins it when it attaches it, and the driver's header read
 *   (a coroutine the main thread polls for) waits without the lock. A read that finishes at once
 *   (null-co without latency) does not wait. A raw node reads nothing. A qed node does not get that
 *   far: the move runs bdrv_qed_detach_aio_context before the open made its timer (SIGSEGV).
 * - a blockdev-add that fails after its new node moved into an iothread (it joined a child pinned
 *   there): bdrv_open_inherit's bdrv_unref closes the node where it runs, and bdrv_close's flush
 *   waits for the iothread, releasing a lock nobody took. The iothread wins that race only by
 *   finishing the flush first: over an idle iothread it hardly ever does (13 runs of 13 aborted, 18
 *   of 20 with poll-max-ns=0), over one still polling after other work it does in about half of
 *   them; the model takes it as an abort. The same holds for a child opened inline
 *   whose attach fails there (bdrv_attach_child's bdrv_unref). A failed attach undoes its own move
 *   first, so a node that only moved in that attach is closed in the main loop: no crash.
 * - x-blockdev-change removing a child: qmp_x_blockdev_change takes no lock, and the child's move
 *   back to the main loop (bdrv_root_unref_child) releases the iothread's. A child that another
 *   user keeps in the iothread does not move: no crash.
 *
 * Each case also runs on real QEMU when it is installed.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

function text(...steps: string[]): string {
  return ['scenario "letting go of a node in an iothread"', "iothread io0", "iothread io1", ...steps, ""].join("\n");
}

const PIN_A = ["add a: null-co size=1M", "export a id=ea iothread=io0 fixed-iothread=on"];
const QUORUM = ["add a: null-co", "add b: null-co", "add q: quorum children=[a, b] vote-threshold=1", "export q id=eq iothread=io0 fixed-iothread=on"];

/** "abort" cases abort on QEMU almost always: there the QEMU side accepts the error too. */
const CASES: Array<{ name: string; text: string; end: "abort" | "segv" | "none"; command: string }> = [
  {
    name: "a qcow2 node over a file pinned in an iothread",
    text: text("image a.qcow2 qcow2 1M", "add af: file filename=a.qcow2", "export af id=eaf iothread=io0 fixed-iothread=on", "add a: qcow2 file=af read-only=on"),
    end: "abort",
    command: "'add' (QMP blockdev-add",
  },
  {
    name: "a qcow2 node over a raw node over a file pinned in an iothread",
    text: text("image a.qcow2 qcow2 1M", "add af: file filename=a.qcow2", "export af id=eaf iothread=io0 fixed-iothread=on", "add a: qcow2 file=(r: raw file=af read-only=on) read-only=on"),
    end: "abort",
    command: "'add' (QMP blockdev-add",
  },
  {
    name: "a qcow2 node over a file moved into an iothread",
    text: text("image a.qcow2 qcow2 1M", "add af: file filename=a.qcow2", 'qmp x-blockdev-set-iothread {"node-name": "af", "iothread": "io0"}', "add a: qcow2 file=af"),
    end: "abort",
    command: "'add' (QMP blockdev-add",
  },
  {
    name: "a qed node over a file pinned in an iothread",
    text: text("image a.qed qed 1M", "add af: file filename=a.qed", "export af id=eaf iothread=io0 fixed-iothread=on", "add a: qed file=af read-only=on"),
    end: "segv",
    command: "'add' (QMP blockdev-add",
  },
  {
    name: "a raw node over a file pinned in an iothread",
    text: text("image a.img raw 1M", "add af: file filename=a.img", "export af id=eaf iothread=io0 fixed-iothread=on", "add a: raw file=af read-only=on", "expect context a io0"),
    end: "none",
    command: "",
  },
  {
    name: "a raw node over a pinned node, failing in its driver's open",
    text: text(...PIN_A, "add r: raw file=a offset=2M"),
    end: "abort",
    command: "'add' (QMP blockdev-add",
  },
  {
    name: "blkverify over nodes pinned in two iothreads",
    text: text("add a: null-co", "add b: null-co", "export a id=ea iothread=io0 fixed-iothread=on", "export b id=eb iothread=io1 fixed-iothread=on", "add v: blkverify test=a raw=b"),
    end: "abort",
    command: "'add' (QMP blockdev-add",
  },
  {
    name: "a quorum whose inline child over a node pinned in io0 cannot join it in the main loop",
    text: text(...PIN_A, "add b: null-co", "export b id=eb fixed-iothread=on", "add q: quorum children=[b, (r: raw file=a)] vote-threshold=1"),
    end: "abort",
    command: "'add' (QMP blockdev-add",
  },
  {
    name: "a qcow2 node whose attach to a pinned file moved it, then failed on permissions",
    text: text(
      "image a.qcow2 qcow2 1M",
      "add af: file filename=a.qcow2",
      "export af id=eaf iothread=io0 fixed-iothread=on",
      "add a: qcow2 file=af -> error /^Permission conflict on node 'af'/",
      "expect context af io0",
    ),
    end: "none",
    command: "",
  },
  {
    name: "x-blockdev-change removing a child of a quorum in an iothread",
    text: text(...QUORUM, 'qmp x-blockdev-change {"parent": "q", "child": "children.1"}'),
    end: "abort",
    command: "'x-blockdev-change'",
  },
  {
    name: "x-blockdev-change removing a child that another user keeps in the iothread",
    text: text(
      ...QUORUM,
      "add r: raw file=b read-only=on",
      "export r id=er fixed-iothread=on",
      'qmp x-blockdev-change {"parent": "q", "child": "children.1"}',
      "expect context b io0",
      "expect context r io0",
    ),
    end: "none",
    command: "",
  },
  {
    name: "x-blockdev-change removing a child in the main loop",
    text: text("add a: null-co", "add b: null-co", "add q: quorum children=[a, b] vote-threshold=1", 'qmp x-blockdev-change {"parent": "q", "child": "children.1"}', "expect context b main"),
    end: "none",
    command: "",
  },
];

const ABORT = "  QEMU crashed: SIGABRT\n(run stopped)\n";
const SEGV = "  QEMU crashed: SIGSEGV\n(run stopped)\n";

describe("letting go of a node in an iothread without its lock, on the model", () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.end === "abort" ? "aborts" : c.end === "segv" ? "segfaults" : "no crash"}`, async () => {
      const r = await run(c.text, new ModelEngine());
      if (c.end === "segv") {
        expect(r.transcript!.endsWith(SEGV)).toBe(true);
        expect(r.failures[0]!.message).toContain(`E_QEMU_CRASHED: QEMU died during ${c.command}`);
      } else if (c.end === "abort") {
        expect(r.transcript!.endsWith(ABORT)).toBe(true);
        expect(r.failures[0]!.message).toContain(`E_QEMU_CRASHED: QEMU died during ${c.command}`);
        expect(r.failures[0]!.message).toContain("qemu_mutex_unlock_impl: Operation not permitted");
      } else {
        expect(r.failures.filter((f) => f.kind !== "missing-golden")).toEqual([]);
      }
    });
  }
});

describeWithQemu("letting go of a node in an iothread without its lock, on QEMU", () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.end === "abort" ? "QEMU aborts as the model does (or, rarely, goes on)" : "the transcripts are the same"}`, async () => {
      const qemu = await run(c.text, new QemuEngine());
      const model = (await run(c.text, new ModelEngine())).transcript!;
      if (c.end === "segv") expect(qemu.transcript!.endsWith(SEGV)).toBe(true);
      if (c.end === "abort" && !qemu.transcript!.endsWith(ABORT)) {
        // QEMU won the race: the crashing step is the last one, and it went on to its reply. All
        // before that reply is still the model's.
        const last = /\n {2}(error: [^\n]*|ok)\n$/.exec(qemu.transcript!);
        expect(last).not.toBeNull();
        expect(model.endsWith(ABORT)).toBe(true);
        expect(qemu.transcript!.slice(0, last!.index + 1)).toBe(model.slice(0, -ABORT.length));
        return;
      }
      expect(model).toBe(qemu.transcript);
    }, 60_000);
  }
});
