/**
 * blklogwrites logs every write, zero write, discard and flush to disk that passes through it
 * (block/blklogwrites.c): the request goes to `file`, then an entry (and the data) to the next log
 * sectors, and a flush or every log-super-update-interval entries rewrites the superblock in the
 * log's first sector. The model refused writes and discards and logged nothing for a flush, so a
 * node that was only resized and then deleted (its close flushes: the truncate counts as a write)
 * left the log file as it was, where QEMU's superblock overwrote it (fuzz seed 96). Each case also
 * runs on real QEMU when it is installed, where both transcripts must be the same.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

const LOGGED = [
  'scenario "blklogwrites logs what passes through it"',
  "require io",
  "image d.img raw 1M",
  "image l.img raw 0",
  "add b0: blklogwrites file=(file filename=d.img) log=(lf: file filename=l.img) log-super-update-interval=3",
  'io b0 "write -P 0x11 0 4k"',
  'io b0 "write -P 0x22 1000 100"',
  'io b0 "write -z 8k 8k"',
  'io b0 "discard 64k 64k"',
  'io b0 "flush"',
  'io b0 "write -P 0x33 4096 512"',
  'io b0 "aio_write -P 0x44 0 512"',
  'io b0 "aio_flush"',
  'io lf "read -v 0 32"',
  'io lf "read -v 512 32"',
  'io lf "read -v 5120 32"',
  'io lf "read -v 15360 32"',
  "del b0",
  "add lg: blklogwrites file=(file filename=d.img) log=(file filename=l.img) log-append=on",
  'io lg "write -P 0x55 0 512"',
  'io lg "flush"',
  "del lg",
  "add raw: file filename=l.img",
  'io raw "read -v 0 32"',
  "",
].join("\n");

// The fuzzer's case: the log is a qcow2 image, and a resize makes the close flush.
const RESIZED = [
  'scenario "a resized blklogwrites node logs a flush when it closes"',
  "image b.qcow2 qcow2 1M",
  "image a.qcow2 qcow2 1M",
  "add b0: blklogwrites file=(file filename=b.qcow2) log=(file filename=a.qcow2)",
  'qmp block_resize {"node-name": "b0", "size": 3000000}',
  "del b0",
  'add r12: raw file=(c13: qcow2 file=(c14: file filename=a.qcow2)) -> error "Image is not in qcow2 format"',
  "",
].join("\n");

const CASES = { "writes, zero writes, discards and flushes": LOGGED, "a resize, then the close": RESIZED };

describe("blklogwrites' log on the model", () => {
  it("writes the superblock (magic, version, entries, sector size) and each entry", async () => {
    const r = await run(LOGGED, new ModelEngine());
    expect(r.failures).toEqual([]);
    const text = r.transcript!;
    // qemu-io's aio_flush only drains: the superblock is the one the sixth entry wrote (interval 3).
    expect(text).toContain(
      'io lf "read -v 0 32"\n  ok\n  00000000:  72 68 73 77 66 73 6a 00 01 00 00 00 00 00 00 00  rhswfsj.........\n  00000010:  06 00 00 00 00 00 00 00 00 02 00 00 00 00 00 00  ................',
    );
    // The first entry: sector 0, 8 sectors, no flags; its data follows in the next sectors.
    expect(text).toContain('io lf "read -v 512 32"\n  ok\n  00000200:  00 00 00 00 00 00 00 00 08 00 00 00 00 00 00 00  ................');
    // The second: 100 bytes at 1000 are two whole sectors from sector 1 once aligned.
    expect(text).toContain('io lf "read -v 5120 32"\n  ok\n  00001400:  01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00  ................');
    // The flush entry (flags 1), after the discard's entry, which has no data.
    expect(text).toContain(
      'io lf "read -v 15360 32"\n  ok\n  00003c00:  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................\n  00003c10:  01 00 00 00 00 00 00 00',
    );
    // The node opened with log-append went on after the entries it found.
    expect(text).toContain(
      'io raw "read -v 0 32"\n  ok\n  00000000:  72 68 73 77 66 73 6a 00 01 00 00 00 00 00 00 00  rhswfsj.........\n  00000010:  09 00 00 00 00 00 00 00 00 02 00 00 00 00 00 00  ................',
    );
  });

  it("a resized node's close overwrites its log's first sector", async () => {
    const r = await run(RESIZED, new ModelEngine());
    expect(r.failures).toEqual([]);
  });
});

describeWithQemu("blklogwrites' log on QEMU", () => {
  for (const [name, t] of Object.entries(CASES)) {
    it(`${name}: the transcripts are the same`, async () => {
      const qemu = await run(t, new QemuEngine());
      expect(qemu.failures).toEqual([]);
      expect((await run(t, new ModelEngine())).transcript).toBe(qemu.transcript);
    }, 60_000);
  }
});

/**
 * bdrv_co_pdiscard passes the unaligned head and tail of a discard down in pieces of their own,
 * and blk_log_writes_co_log asserts that what it logs is in whole log sectors (fuzz seed 99).
 */
const unalignedDiscard = (range: string) =>
  ['scenario "an unaligned discard"', "require io", "add b0: blklogwrites file=(null-co) log=(null-co) discard=unmap", `io b0 "discard ${range}"`, ""].join("\n");
const UNALIGNED = {
  "524430 65536": "../../block/blklogwrites.c:424: blk_log_writes_co_log: Assertion `QEMU_IS_ALIGNED(offset, bs->bl.request_alignment)' failed.",
  "524288 1000": "../../block/blklogwrites.c:425: blk_log_writes_co_log: Assertion `QEMU_IS_ALIGNED(bytes, bs->bl.request_alignment)' failed.",
};

describe("an unaligned discard through blklogwrites on the model", () => {
  for (const [range, assertion] of Object.entries(UNALIGNED)) {
    it(`discard ${range} fails blk_log_writes_co_log's assertion`, async () => {
      const r = await run(unalignedDiscard(range), new ModelEngine());
      expect(r.transcript!.endsWith(`io b0 "discard ${range}"\n  QEMU crashed: SIGABRT\n(run stopped)\n`)).toBe(true);
      expect(r.failures[0]!.message).toContain(assertion);
    });
  }
});

describeWithQemu("an unaligned discard through blklogwrites on QEMU", () => {
  for (const range of Object.keys(UNALIGNED)) {
    it(`discard ${range}: the transcripts are the same`, async () => {
      const qemu = await run(unalignedDiscard(range), new QemuEngine());
      expect((await run(unalignedDiscard(range), new ModelEngine())).transcript).toBe(qemu.transcript);
    }, 60_000);
  }
});
