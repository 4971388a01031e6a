/**
 * Persistent dirty bitmaps in qcow2 (block/qcow2-bitmap.c): stored in the image when the node
 * closes or goes read-only, loaded (and marked in use) when it opens; a bitmaps extension the
 * autoclear bit does not vouch for is dropped by a writable open. Each case runs on the model;
 * on QEMU, when it is installed, the transcripts must be the same, raw dumps of the image included.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

function text(...steps: string[]): string {
  return ['scenario "persistent bitmaps"', "require io", "image d.qcow2 qcow2 1M", "add q: qcow2 file=(f: file filename=d.qcow2)", ...steps, ""].join("\n");
}

const SHA = 'qmp x-debug-block-dirty-bitmap-sha256 {"node": "q", "name": "p"}';
const REOPEN = "add q: qcow2 file=(f: file filename=d.qcow2)";

const CASES: Array<{ name: string; text: string }> = [
  {
    name: "stored at blockdev-del, loaded at the next open",
    text: text('qmp block-dirty-bitmap-add {"node": "q", "name": "p", "persistent": true}', 'io q "write -P 1 64k 70k"', SHA, "del q", REOPEN, SHA, "show node q dirty-bitmaps image.format-specific"),
  },
  {
    name: "the header's bitmaps extension and the directory, as QEMU lays them out",
    text: text(
      'qmp block-dirty-bitmap-add {"node": "q", "name": "p", "persistent": true}',
      'qmp block-dirty-bitmap-add {"node": "q", "name": "off", "persistent": true, "disabled": true}',
      'io q "write -P 1 0 4k"',
      "del q",
      "add r: raw file=(file filename=d.qcow2) read-only=on",
      'io r "read -v 0x1f0 48"',
      'io r "read -v 0x90000 64"',
      'io r "map"',
    ),
  },
  {
    name: "reopened read-only (stored, read-only) and read-write again (in use)",
    text: text(
      'qmp block-dirty-bitmap-add {"node": "q", "name": "p", "persistent": true, "granularity": 512}',
      'io q "write -P 1 0 4k"',
      "reopen q read-only=on",
      'qmp block-dirty-bitmap-clear {"node": "q", "name": "p"} -> error "Bitmap \'p\' is readonly and cannot be modified"',
      "show node q dirty-bitmaps image.format-specific",
      "reopen q read-only=off",
      'io q "write -P 2 8k 4k"',
      "show node q dirty-bitmaps image.format-specific",
      SHA,
    ),
  },
  {
    name: "a second node finds them in use: inconsistent",
    text: text(
      'qmp block-dirty-bitmap-add {"node": "q", "name": "p", "persistent": true}',
      "del q",
      REOPEN,
      "add q2: qcow2 file=(file filename=d.qcow2 locking=off) read-only=on",
      "show node q2 dirty-bitmaps",
      'qmp block-dirty-bitmap-enable {"node": "q2", "name": "p"} -> error "Bitmap \'p\' is inconsistent and cannot be used"',
    ),
  },
  {
    name: "a persistent bitmap added to a read-only node cannot be stored",
    text: [
      'scenario "a read-only node"',
      "require io",
      "image d.qcow2 qcow2 1M",
      "add q: qcow2 file=(f: file filename=d.qcow2) read-only=on",
      'qmp block-dirty-bitmap-add {"node": "q", "name": "p", "persistent": true}',
      // qcow2_reopen_bitmaps_ro stores it, and can_write() looks at the node before the reopen.
      'reopen q read-only=on -> error "No write access"',
      "reopen q read-only=off",
      "reopen q read-only=on",
      "show node q dirty-bitmaps image.format-specific",
      "",
    ].join("\n"),
  },
  {
    name: "a bitmap directory the open refuses",
    text: [
      'scenario "a crafted bitmaps extension"',
      "require io",
      "image d.qcow2 qcow2 1M",
      "add f: file filename=d.qcow2",
      // A bitmaps extension in place of the end marker (the feature table ends at 0x1f8), one
      // bitmap, the autoclear bit that vouches for it.
      ...[0x23, 0x85, 0x28, 0x75].map((byte, i) => `io f "write -P ${byte} ${0x1f8 + i} 1"`),
      'io f "write -P 0x18 0x1ff 1"',
      'io f "write -P 0x01 95 1"',
      'io f "write -P 0x01 0x203 1"',
      'add q: qcow2 file=f read-only=on -> error "Requested bitmap directory size is zero"',
      // 0x40 bytes at 0x30000 (the L1 table: all zeros), then 0x18.
      'io f "write -P 0x40 0x20f 1"',
      'io f "write -P 0x03 0x215 1"',
      "add q: qcow2 file=f read-only=on -> error \"Bitmap '' doesn't satisfy the constraints\"",
      'io f "write -P 0x18 0x20f 1"',
      // An entry that passes its checks but whose name runs past the directory.
      'io f "write -P 0x01 0x3000b 1"',
      'io f "write -P 0x01 0x30010 1"',
      'io f "write -P 0x10 0x30011 1"',
      'io f "write -P 0x01 0x30013 1"',
      'io f "write -P 0x41 0x30018 1"',
      'add q: qcow2 file=f read-only=on -> error "Broken bitmap directory"',
      "",
    ].join("\n"),
  },
  {
    name: "a bitmaps extension without the autoclear bit, and an unknown autoclear bit, dropped by a writable open",
    text: [
      'scenario "a stale bitmaps extension"',
      "require io",
      "image d.qcow2 qcow2 1M",
      "add f: file filename=d.qcow2",
      ...[0x23, 0x85, 0x28, 0x75].map((byte, i) => `io f "write -P ${byte} ${0x1f8 + i} 1"`),
      'io f "write -P 0x18 0x1ff 1"',
      'io f "write -P 0x80 95 1"',
      // Read-only: left as it is.
      "add r: qcow2 file=f read-only=on",
      'io f "read -v 0x50 16"',
      'io f "read -v 0x1f0 48"',
      "del r",
      "add q: qcow2 file=f",
      'io f "read -v 0x50 16"',
      'io f "read -v 0x1f0 48"',
      "",
    ].join("\n"),
  },
  // store_bitmap_data's table has no entry for a bitmap of an empty image, and g_try_new0 of no
  // elements is NULL: "No memory" (fuzz seed 95).
  {
    name: "a bitmap of an image resized to nothing is not stored",
    text: text('qmp block-dirty-bitmap-add {"node": "q", "name": "p", "persistent": true}', 'qmp block_resize {"node-name": "q", "size": 0}', 'reopen q read-only=on -> error "No memory"', "show node q dirty-bitmaps"),
  },
];

describe("persistent dirty bitmaps on the model", () => {
  it("keep their bits across blockdev-del and blockdev-add", async () => {
    const r = await run(CASES[0]!.text, new ModelEngine());
    expect(r.failures).toEqual([]);
    const sums = [...r.transcript!.matchAll(/"sha256": "([0-9a-f]+)"/g)].map((m) => m[1]);
    expect(sums).toHaveLength(2);
    expect(sums[1]).toBe(sums[0]);
    expect(r.transcript).toContain('{"flags": ["in-use", "auto"], "name": "p", "granularity": 65536}');
  });

  it("are not stored by a read-only node, whose reopen read-only fails", async () => {
    const r = await run(CASES.find((c) => c.name.startsWith("a persistent bitmap added to a read-only node"))!.text, new ModelEngine());
    expect(r.failures).toEqual([]);
    expect(r.transcript).toContain('{"flags": ["auto"], "name": "p", "granularity": 65536}');
  });

  it("lose a stale bitmaps extension and unknown autoclear bits at a writable open, not at a read-only one", async () => {
    const r = await run(CASES.find((c) => c.name.startsWith("a bitmaps extension without the autoclear bit"))!.text, new ModelEngine());
    expect(r.failures).toEqual([]);
    const autoclear = [...r.transcript!.matchAll(/00000050: {2}(.*) {2}/g)].map((m) => m[1]);
    expect(autoclear).toEqual(["00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 80", "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"]);
    expect(r.transcript!.match(/23 85 28 75/g)).toHaveLength(1);
  });

  it("write the bitmaps extension after the feature table, and the directory after the last cluster", async () => {
    const r = await run(CASES[1]!.text, new ModelEngine());
    expect(r.failures).toEqual([]);
    // Qcow2BitmapHeaderExt: 2 bitmaps, a 64-byte directory at 0x90000 (header, refcount table and
    // block, L1, L2, data, then 'off''s table, p's data and table).
    expect(r.transcript).toContain("23 85 28 75 00 00 00 18");
    expect(r.transcript).toContain("00000200:  00 00 00 02 00 00 00 00 00 00 00 00 00 00 00 40");
    expect(r.transcript).toContain("00000210:  00 00 00 00 00 09 00 00 00 00 00 00 00 00 00 00");
    expect(r.transcript).toContain("00090000:  00 00 00 00 00 06 00 00 00 00 00 01 00 00 00 00  ................");
  });
});

describeWithQemu("persistent dirty bitmaps, on QEMU", () => {
  for (const c of CASES) {
    it(`${c.name}: the transcripts are the same`, async () => {
      const qemu = await run(c.text, new QemuEngine());
      expect(qemu.failures).toEqual([]);
      expect((await run(c.text, new ModelEngine())).transcript).toBe(qemu.transcript);
    }, 60_000);
  }
});
