/**
 * QEMU 7.2's block_resize takes the node's AioContext lock around the release of its BlockBackend
 * (bdrv_co_lock) and gives back the node's context after it (bdrv_co_unlock). When the release
 * moves the node out of an iothread into the main loop, the iothread's lock stays taken for good.
 * What follows: a later move out of that iothread does not trip the lock check; a request to a
 * node in it waits forever (and so does qemu-io's map or alloc, whose block status is a coroutine
 * wrapper), as does a block_resize of one (its coroutine is rescheduled there);
 * deleting the iothread aborts; and at quit, QEMU hangs in the drain while a node runs in the iothread, and
 * aborts destroying it otherwise. The model keeps the leaked lock and ends each way QEMU does.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

/** A node sent to iothread io1 and resized there: the resize's BlockBackend takes it back to main. */
function leak(...after: string[]): string {
  return [
    'scenario "a leaked iothread lock"',
    // qemu-io needs qemu-system (HMP); the rest runs on qemu-storage-daemon.
    ...(after.some((l) => l.startsWith("io ")) ? ["require io"] : []),
    "image a.qcow2 qcow2 1M",
    "image b.img raw 1M",
    "image c.qcow2 qcow2 1M",
    "add a: qcow2 file=(file filename=a.qcow2)",
    "add b: raw file=(file filename=b.img)",
    "add c: qcow2 file=(file filename=c.qcow2) backing=null",
    "iothread io1",
    'qmp x-blockdev-set-iothread {"node-name": "a", "iothread": "io1"}',
    'qmp block_resize {"node-name": "a", "size": 2097152}',
    "expect context a main",
    ...after,
    "",
  ].join("\n");
}

const MOVE_B = 'qmp x-blockdev-set-iothread {"node-name": "b", "iothread": "io1"}';

const CASES = {
  "aborts at quit when no node runs in the iothread": leak(),
  "hangs at quit while a node runs in it": leak(MOVE_B),
  "aborts at the iothread's deletion": leak('qmp object-del {"id": "io1"}'),
  "hangs in a qemu-io request on a node in the iothread": leak(MOVE_B, 'io b "read 0 4k"'),
  // map's bdrv_is_allocated is a coroutine wrapper: it waits for the iothread while HMP holds its
  // lock on top of the leaked one (fuzz seed 94).
  "hangs in a qemu-io map of a node in the iothread": leak(MOVE_B, 'io b "map"'),
  "hangs in a qemu-io alloc of a node in the iothread": leak(MOVE_B, 'io b "alloc 0 4k"'),
  // Without the leak, this reopen aborts QEMU 7.2: it moves b out of io1 without holding its lock.
  "lets a reopen move a node out of the iothread": leak(MOVE_B, "reopen c backing=b", "expect context b main"),
  // The failed open's close detaches the file (bdrv_root_unref_child), which goes to the main loop
  // with the node over it: no move back into the iothread, which the probe would refuse.
  "lets a failed open over a node in the iothread close": leak(MOVE_B, 'add q: qcow2 file=b/file -> error "Image is not in qcow2 format"', "expect context b main", "show graph"),
  // external_snapshot_prepare flushes the node, holding its context, before it looks the overlay up.
  "hangs in blockdev-snapshot of a node in the iothread": leak(MOVE_B, 'qmp blockdev-snapshot {"node": "b", "overlay": "o"}'),
  // bdrv_co_enter moves the command's coroutine into the node's context, whose lock the iothread
  // never gets; a node in the main loop is resized there.
  "hangs in a block_resize of a node in the iothread": leak(MOVE_B, 'qmp block_resize {"node-name": "b", "size": 2097152}'),
  "resizes a node in the main loop": leak('qmp block_resize {"node-name": "b", "size": 2097152}', "show node b"),
  // bdrv_can_store_new_dirty_bitmap is a coroutine wrapper, whatever the driver: it waits for the
  // iothread while the command holds its lock on top of the leaked one (fuzz seed 96); a bitmap
  // that is not persistent asks nothing.
  "hangs in a persistent bitmap's add on a node in the iothread": leak(MOVE_B, 'qmp block-dirty-bitmap-add {"node": "b", "name": "bm", "persistent": true}'),
  "adds a bitmap that is not persistent there": leak(MOVE_B, 'qmp block-dirty-bitmap-add {"node": "b", "name": "bm"}', 'qmp block-dirty-bitmap-remove {"node": "b", "name": "bm"}'),
  // So is bdrv_remove_persistent_dirty_bitmap: a persistent bitmap added in the main loop, then
  // removed once its node is in the iothread.
  "hangs in a persistent bitmap's remove on a node in the iothread": leak(
    'qmp block-dirty-bitmap-add {"node": "c", "name": "bm", "persistent": true}',
    'qmp x-blockdev-set-iothread {"node-name": "c", "iothread": "io1"}',
    'qmp block-dirty-bitmap-remove {"node": "c", "name": "bm"}',
  ),
  // A read-only node is not flushed.
  "lets blockdev-snapshot of a read-only node there fail": leak(MOVE_B, "reopen b read-only=on", 'qmp blockdev-snapshot {"node": "b", "overlay": "o"} -> error "Cannot find device=\'o\' nor node-name=\'o\'"'),
};

describe("a leaked iothread lock, on the model", () => {
  it("ends a run that would pass at quit, with QEMU's abort", async () => {
    const r = await run(CASES["aborts at quit when no node runs in the iothread"], new ModelEngine());
    expect(r.transcript!.endsWith("(quit)\n  QEMU crashed: SIGABRT\n")).toBe(true);
    expect(r.failures).toEqual([expect.objectContaining({ kind: "error", message: "QEMU crashed at quit (SIGABRT)", details: "QEMU log (tail):\nqemu: qemu_mutex_destroy: Device or resource busy" })]);
  });

  it("hangs at quit while a node runs in the iothread", async () => {
    const r = await run(CASES["hangs at quit while a node runs in it"], new ModelEngine());
    expect(r.transcript!.endsWith("(quit)\n  QEMU hung at quit and was killed\n")).toBe(true);
    expect(r.failures[0]!.message).toMatch(/^QEMU hung at quit: node '.*' runs in iothread 'io1'/);
  });

  it("hangs in a qemu-io request on a node in the iothread", async () => {
    const r = await run(CASES["hangs in a qemu-io request on a node in the iothread"], new ModelEngine());
    expect(r.transcript!.endsWith('io b "read 0 4k"\n  QEMU hung and was killed\n(run stopped)\n')).toBe(true);
  });

  for (const command of ["map", "alloc 0 4k"]) {
    it(`hangs in a qemu-io ${command.split(" ")[0]} of a node in the iothread`, async () => {
      const r = await run(leak(MOVE_B, `io b "${command}"`), new ModelEngine());
      expect(r.transcript!.endsWith(`io b "${command}"\n  QEMU hung and was killed\n(run stopped)\n`)).toBe(true);
    });
  }

  it("hangs in blockdev-snapshot's flush of a node in the iothread", async () => {
    const r = await run(CASES["hangs in blockdev-snapshot of a node in the iothread"], new ModelEngine());
    expect(r.transcript!.endsWith('qmp blockdev-snapshot {"node": "b", "overlay": "o"}\n  QEMU hung and was killed\n(run stopped)\n')).toBe(true);
  });

  it("hangs in a block_resize of a node in the iothread, and resizes one in the main loop", async () => {
    const r = await run(CASES["hangs in a block_resize of a node in the iothread"], new ModelEngine());
    expect(r.transcript!.endsWith('qmp block_resize {"node-name": "b", "size": 2097152}\n  QEMU hung and was killed\n(run stopped)\n')).toBe(true);
    expect(r.failures[0]!.message).toContain("iothread 'io1'");
    const main = await run(CASES["resizes a node in the main loop"], new ModelEngine());
    expect(main.transcript).toMatch(/qmp block_resize \{"node-name": "b", "size": 2097152\}\n {2}ok\n/);
  });

  it("hangs in a persistent bitmap's add or remove on a node in the iothread (coroutine wrappers)", async () => {
    const add = await run(CASES["hangs in a persistent bitmap's add on a node in the iothread"], new ModelEngine());
    expect(add.transcript!.endsWith('"persistent": true}\n  QEMU hung and was killed\n(run stopped)\n')).toBe(true);
    const remove = await run(CASES["hangs in a persistent bitmap's remove on a node in the iothread"], new ModelEngine());
    expect(remove.transcript!.endsWith('qmp block-dirty-bitmap-remove {"node": "c", "name": "bm"}\n  QEMU hung and was killed\n(run stopped)\n')).toBe(true);
    const plain = await run(CASES["adds a bitmap that is not persistent there"], new ModelEngine());
    expect(plain.transcript).toMatch(/qmp block-dirty-bitmap-remove \{"node": "b", "name": "bm"\}\n {2}ok\n/);
  });

  it("aborts when the iothread is deleted", async () => {
    const r = await run(CASES["aborts at the iothread's deletion"], new ModelEngine());
    expect(r.transcript!.endsWith('qmp object-del {"id": "io1"}\n  QEMU crashed: SIGABRT\n(run stopped)\n')).toBe(true);
  });

  it("lets a failed open over a node in the iothread close, and the file go to the main loop", async () => {
    const r = await run(CASES["lets a failed open over a node in the iothread close"], new ModelEngine());
    expect(r.transcript).toContain('add q: qcow2 file=b/file -> error "Image is not in qcow2 format"\n  error: Image is not in qcow2 format\nexpect context b main\n  ok\n');
    expect(r.transcript!.endsWith("(quit)\n  QEMU crashed: SIGABRT\n")).toBe(true);
  });

  it("lets a later move out of the iothread release the lock it holds, where it would abort otherwise", async () => {
    const leaked = await run(CASES["lets a reopen move a node out of the iothread"], new ModelEngine());
    expect(leaked.transcript).toMatch(/reopen c backing=b\n {2}ok\n/);
    const withoutLeak = leak(MOVE_B, "reopen c backing=b").replace('qmp block_resize {"node-name": "a", "size": 2097152}\nexpect context a main\n', "");
    const r = await run(withoutLeak, new ModelEngine());
    expect(r.transcript).toMatch(/reopen c backing=b\n {2}QEMU crashed: SIGABRT\n/);
  });
});

describeWithQemu("a leaked iothread lock, on QEMU", () => {
  for (const [name, text] of Object.entries(CASES)) {
    it(`${name}, as the model says`, { timeout: 60_000 }, async () => {
      const qemu = await run(text, new QemuEngine({ callTimeoutMs: 3_000 }));
      const model = await run(text, new ModelEngine());
      expect(qemu.transcript).toBe(model.transcript);
    });
  }
});
