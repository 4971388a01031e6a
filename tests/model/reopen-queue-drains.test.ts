/**
 * qmp_blockdev_reopen drains each node it is given, with its subtree, while it queues it, and
 * bdrv_reopen_multiple asserts before each entry's prepare that its node is still drained. An entry
 * can lose its sections to an earlier entry's prepare: the first entry for a node queues the node's
 * inline children, a later entry for the same node (or for a node below an ancestor's entry) drops
 * one of them (`backing=null`, another `file`), and that detach ends the child's sections, once per
 * subtree drain its old parent is in; so does a single entry that replaces a child it queued, as
 * qemu-io's `reopen -o file=` replaces blkdebug's inline `image`. QEMU 7.2 then dies on
 * `bs_entry->state.bs->quiesce_counter > 0`; where the child is not queued (the detaching entry
 * comes first, so its options are joined into the later one's), the reopen succeeds.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

const CHAIN = ["image b.qcow2 qcow2 1M", "image t.qcow2 qcow2 1M backing=b.qcow2 backing-fmt=qcow2"];

function text(...steps: string[]): string {
  return ['scenario "a node queued twice"', ...CHAIN, ...steps, "show graph", ""].join("\n");
}

const N0 = "add n0: qcow2 file=(n0f: file filename=t.qcow2)";

const CASES: Array<{ name: string; text: string; aborts: boolean }> = [
  { name: "a node given twice, its backing dropped by the second entry", text: text(N0, "reopen {", "  n0 read-only=on", "  n0 backing=null", "}"), aborts: true },
  {
    name: "a node given twice, its inline file replaced by the second entry",
    text: text(N0, "add u: file filename=b.qcow2", "reopen {", "  n0 read-only=on", "  n0 file=u backing=n0/backing", "}"),
    aborts: true,
  },
  {
    name: "an inline child of an earlier entry's node whose backing a later entry drops",
    text: text("image top.qcow2 qcow2 1M", "add top: qcow2 file=(file filename=top.qcow2) backing=(n0: qcow2 file=(n0f: file filename=t.qcow2))", "reopen {", "  top read-only=on", "  n0 backing=null", "}"),
    aborts: true,
  },
  {
    // bs->file of blkdebug is its `image`; qemu-io's reopen -o passes `file` unchecked by any schema.
    name: "blkdebug's inline image, queued under it, replaced by qemu-io's reopen -o file=",
    text: ["require io", text("add n1: null-co", "add d: blkdebug image=(null-co)", 'io d "reopen -o file=n1"')].join("\n"),
    aborts: true,
  },
  { name: "a node given twice, its backing dropped by the first entry", text: text(N0, "reopen {", "  n0 backing=null", "  n0 read-only=on", "}", "expect gone n0/backing"), aborts: false },
  { name: "a node given twice, its backing kept", text: text(N0, "reopen {", "  n0 read-only=on backing=n0/backing", "  n0 read-only=off backing=n0/backing", "}", "expect rw n0"), aborts: false },
];

describe("a reopen whose earlier entry detaches a later entry's node, on the model", () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.aborts ? "QEMU 7.2 aborts" : "succeeds"}`, async () => {
      const r = await run(c.text, new ModelEngine());
      if (c.aborts) {
        expect(r.transcript!.endsWith("  QEMU crashed: SIGABRT\n(run stopped)\n")).toBe(true);
        expect(r.failures[0]!.message).toContain("../../block.c:4405: bdrv_reopen_multiple: Assertion `bs_entry->state.bs->quiesce_counter > 0' failed.");
      } else {
        expect(r.failures.filter((f) => f.kind !== "missing-golden")).toEqual([]);
        expect(r.transcript).toContain("show graph\n");
      }
    });
  }
});

describeWithQemu("a reopen whose earlier entry detaches a later entry's node, on QEMU", () => {
  for (const c of CASES) {
    it(`${c.name}: the transcripts are the same`, async () => {
      const qemu = await run(c.text, new QemuEngine());
      expect((await run(c.text, new ModelEngine())).transcript).toBe(qemu.transcript);
    }, 60_000);
  }
});
