/**
 * bdrv_replace_node moves the parents' edges to the new node and refreshes permissions from the new
 * node and the old one only: a moved edge keeps what its parent's rule gave for the old node. Here
 * an inline qcow2 under a read-only, force-share raw node shares everything with its file, which
 * inherited force-share; blockdev-snapshot puts an overlay without force-share in the file's place,
 * and the edge still shares everything. The next refresh that starts above it (QEMU's walks every
 * node below its start) recomputes the edge: then it shares what qcow2 shares with a plain file.
 * Each case runs on the model, and on real QEMU when it is installed, where both transcripts must
 * be the same.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

function snapshotUnder(...after: string[]): string {
  return [
    'scenario "an edge moved by blockdev-snapshot keeps its perms until a refresh reaches its parent"',
    "image b.qcow2 qcow2 1M",
    "image o.qcow2 qcow2 1M",
    "add r0: raw file=(qcow2 file=(c1: file filename=b.qcow2)) read-only=on force-share=on",
    "add o4: qcow2 file=(file filename=o.qcow2) backing=null",
    'qmp blockdev-snapshot {"node": "c1", "overlay": "o4"}',
    "show graph",
    ...after,
    "",
  ].join("\n");
}

const CASES = {
  "an export of the top node": snapshotUnder("export r0 id=e0", "show graph"),
  "a backup job's filter inserted above it": ["require jobs", ...snapshotUnder("image t.qcow2 qcow2 1M", "add t: qcow2 file=(file filename=t.qcow2)", "job backup j0 r0 target=t sync=none", "show graph").split("\n")]
    .join("\n")
    .replace(/^require jobs\n(scenario .*)\n/, "$1\nrequire jobs\n"),
};

const STALE = "r0/file  -file->     o4  perm=[consistent-read]  shared=[consistent-read, write, write-unchanged, resize]";
const REFRESHED = "r0/file  -file->     o4  perm=[consistent-read]  shared=[consistent-read, write-unchanged]";

describe("an edge moved by a replace, on the model", () => {
  it("keeps its perms after the replace, and takes its parent's rule at the next refresh from above", async () => {
    // The job's filter changes nothing on the edges between it and the moved one: only QEMU's walk
    // of every node below the start reaches it.
    const r = await run(CASES["a backup job's filter inserted above it"], new ModelEngine());
    expect(r.failures).toEqual([]);
    const [afterSnapshot, afterJob] = r.transcript!.replace(/ +/g, " ").split("job backup j0");
    expect(afterSnapshot).toContain(STALE.replace(/ +/g, " "));
    expect(afterJob).toContain(REFRESHED.replace(/ +/g, " "));
  });
});

describeWithQemu("an edge moved by a replace, on QEMU", () => {
  for (const [name, text] of Object.entries(CASES)) {
    it(`${name}: the transcripts are the same`, { timeout: 60_000 }, async () => {
      const qemu = await run(text, new QemuEngine());
      expect((await run(text, new ModelEngine())).transcript).toBe(qemu.transcript);
    });
  }
});
