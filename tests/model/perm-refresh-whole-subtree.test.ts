/**
 * A permission refresh checks every node below where it starts (bdrv_topological_dfs), not only
 * those whose edges change: bdrv_node_refresh_perm refuses write without resize on a node whose
 * length is not a multiple of its request alignment, and that length can change with nothing
 * refreshed (block_resize through a compress filter, whose alignment is the qcow2 cluster size).
 * A reopen above it that changes no permission then fails on QEMU 7.2; the model skipped the node
 * (found by fuzz seed 62). Each case runs on the model, and on real QEMU when it is installed,
 * where both transcripts must be the same.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

const UNALIGNED = "Cannot get 'write' permission without 'resize': Image size is not a multiple of request alignment";

function resizedBelow(...after: string[]): string {
  return [
    'scenario "a compress filter resized to an unaligned length"',
    "image a.qcow2 qcow2 1M",
    "add c: compress file=(qcow2 file=(file filename=a.qcow2))",
    // copy-on-read takes write-unchanged on c, without resize.
    "add r: copy-on-read file=c",
    "add w: raw file=c",
    'qmp block_resize {"node-name": "c", "size": 1049088}',
    ...after,
    "",
  ].join("\n");
}

const CASES = {
  "a reopen that changes no permission": resizedBelow(`reopen w -> error "${UNALIGNED}"`),
  "a node added over it": resizedBelow(`add w2: raw file=c read-only=on -> error "${UNALIGNED}"`),
};

describe("a permission refresh below an unchanged edge, on the model", () => {
  for (const [name, text] of Object.entries(CASES)) {
    it(`${name} fails on the unaligned node`, async () => {
      const r = await run(text, new ModelEngine());
      expect(r.failures).toEqual([]);
    });
  }
});

describeWithQemu("a permission refresh below an unchanged edge, on QEMU", () => {
  for (const [name, text] of Object.entries(CASES)) {
    it(`${name}: the transcripts are the same`, { timeout: 60_000 }, async () => {
      const qemu = await run(text, new QemuEngine());
      expect((await run(text, new ModelEngine())).transcript).toBe(qemu.transcript);
    });
  }
});
