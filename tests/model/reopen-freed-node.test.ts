/**
 * A blockdev-reopen that detaches an inline child (one made inside its parent's blockdev-add, so
 * held by that parent alone) frees it when the transaction commits. QEMU 7.2's reopen queue holds
 * no reference to its nodes, so when the freed node was itself in the command, or below one that
 * was, QEMU uses it after the free and segfaults. The model crashes there too, and only there: a
 * detached node that was not in the queue, or one that another parent keeps, or a reopen that
 * fails and rolls back, are no crash. Each case also runs on real QEMU when it is installed.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(20_000);

const CHAIN = [
  "image base.qcow2 qcow2 1M",
  "image mid.qcow2 qcow2 1M",
  "graph {",
  "  base: qcow2 file=(base-file: file filename=base.qcow2) backing=null read-only=on",
  "  mid: qcow2 file=(mid-file: file filename=mid.qcow2) backing=base read-only=on",
  "}",
];
const INLINE_BACKING = ["image b.qcow2 qcow2 1M", "image t.qcow2 qcow2 1M", "add t: qcow2 file=(tf: file filename=t.qcow2) backing=(b: qcow2 file=(bf: file filename=b.qcow2) backing=null)"];

function text(setup: string[], entries: string[], expectation = ""): string {
  return ['scenario "reopen frees a node"', ...setup, "reopen {", ...entries.map((e) => `  ${e}`), `}${expectation}`, "show graph", ""].join("\n");
}

const CASES: Array<{ name: string; text: string; crashes: boolean }> = [
  { name: "a file child listed before its parent takes another file", text: text(CHAIN, ["mid-file detect-zeroes=off", "mid file=base-file"]), crashes: true },
  { name: "a file child listed after its parent takes another file", text: text(CHAIN, ["mid file=base-file", "mid-file detect-zeroes=off"]), crashes: true },
  { name: "an inline backing listed with its parent's backing=null", text: text(INLINE_BACKING, ["b backing=null", "t backing=null"]), crashes: true },
  { name: "the file of a detached backing, listed", text: text(INLINE_BACKING, ["bf detect-zeroes=on", "t backing=null"]), crashes: true },
  { name: "a detached backing not listed", text: text(INLINE_BACKING, ["tf detect-zeroes=on", "t backing=null"]), crashes: false },
  {
    name: "a listed file child another parent keeps",
    text: text([...CHAIN, "add x: raw file=mid-file read-only=on"], ["mid-file detect-zeroes=off", "mid file=base-file"]),
    crashes: false,
  },
  {
    name: "a reopen that fails and rolls back",
    text: text(CHAIN, ["mid-file detect-zeroes=off", "mid file=base-file", "base read-only=off"], ' -> error /^Permission conflict on node .base-file.: permissions .write, resize. are both required by node .base./'),
    crashes: false,
  },
];

const CRASH_END = "  QEMU crashed: SIGSEGV\n(run stopped)\n";

describe("a reopen that frees a node of its queue, on the model", () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.crashes ? "segfaults" : "no crash"}`, async () => {
      const r = await run(c.text, new ModelEngine());
      if (c.crashes) {
        expect(r.transcript!.endsWith(`}\n${CRASH_END}`)).toBe(true);
        expect(r.failures[0]!.message).toMatch(/^E_QEMU_CRASHED: QEMU died during 'reopen' \(QMP blockdev-reopen, killed by signal SIGSEGV\)/);
      } else {
        expect(r.failures.filter((f) => f.kind !== "missing-golden")).toEqual([]);
        expect(r.transcript).toContain("show graph\n");
      }
    });
  }
});

describeWithQemu("a reopen that frees a node of its queue, on QEMU", () => {
  for (const c of CASES) {
    it(`${c.name}: the transcripts are the same`, async () => {
      const [model, qemu] = [await run(c.text, new ModelEngine()), await run(c.text, new QemuEngine())];
      expect(model.transcript).toBe(qemu.transcript);
      expect(qemu.transcript!.endsWith(CRASH_END)).toBe(c.crashes);
    }, 30_000);
  }
});
