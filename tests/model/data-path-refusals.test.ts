/**
 * Where QEMU 7.2's data path does something the model does not follow, the model refuses the step
 * (E_MODEL_IO_UNSUPPORTED, located at it) instead of answering differently:
 * - a qemu-io number above 2^53: QEMU's offsets are int64, the model's doubles would round it;
 * - a guest data write that a corrupted L2 entry points at qcow2 metadata: QEMU's overlap check
 *   marks the image corrupt and takes the node's driver away;
 * - a qcow2 table or cluster allocated at offset 0 (a node whose file no longer holds its image):
 *   qcow2_signal_corruption does the same;
 * - an unaligned data cluster offset in an L2 entry, or refcount block offset in the refcount table:
 *   qcow2_signal_corruption prints a line on stderr, and takes the driver of a writable node away;
 * A block job's I/O error is followed under every policy (scenario jobs/job-error-policies); an
 * EIO under `enospc` is reported, as the default policy does.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

async function refusal(lines: string[]): Promise<{ message: string; location?: string }> {
  const r = await run(['scenario "refused"', "require io", ...lines, ""].join("\n"), new ModelEngine());
  return r.failures[0] as { message: string; location?: string };
}

describe("data path steps the model refuses", () => {
  it("a qemu-io offset above 2^53", async () => {
    expect(await refusal(["add n: null-co size=18014398509481984 read-zeroes=on", 'io n "read 9007199254740993 1"'])).toMatchObject({
      message: "E_MODEL_IO_UNSUPPORTED: the model engine does not model qemu-io numbers above 2^53 (9007199254740993)",
      location: "tests/scenarios/t.scn:4",
    });
  });

  it("a guest data write that a corrupted L2 entry points at the L1 table", async () => {
    const lines = [
      "image d.qcow2 qcow2 1M",
      "add q: qcow2 file=(qf: file filename=d.qcow2)",
      'io q "write -P 0x11 0 64k"',
      "del q",
      // The first L2 entry (at 256k) is 80 00 00 00 00 05 00 00: point it at 0x30000, the L1 table.
      "add r: raw file=(file filename=d.qcow2)",
      'io r "write -P 0x03 262149 1"',
      "del r",
      "add q: qcow2 file=(qf: file filename=d.qcow2)",
      'io q "write -P 3 0 4k"',
    ];
    expect(await refusal(lines)).toMatchObject({
      message: "E_MODEL_IO_UNSUPPORTED: the model engine does not model a guest data write over qcow2 metadata (active L1 table: QEMU marks the image corrupt)",
      location: "tests/scenarios/t.scn:11",
    });
  });

  it("an L2 table a qcow2 node allocates at offset 0, over a file that holds no image", async () => {
    // The node's refcounts were read from d.qcow2; fe is zeros, where every cluster looks free.
    const lines = [
      "image d.qcow2 qcow2 1M data-file=d.data",
      "image e.raw raw 1M",
      "add q: qcow2 file=(qf: file filename=d.qcow2) data-file=(qd: file filename=d.data)",
      "add fe: file filename=e.raw",
      'io q "reopen -o file=fe"',
      'io q "write 0 4k"',
    ];
    expect(await refusal(lines)).toMatchObject({
      message: "E_MODEL_IO_UNSUPPORTED: the model engine does not model an L2 table allocated at offset 0 (QEMU marks the image corrupt and takes the node's driver away)",
      location: "tests/scenarios/t.scn:8",
    });
  });

  it("a read through an L2 entry whose data cluster offset is unaligned", async () => {
    const lines = [
      "image d.qcow2 qcow2 1M",
      "add q: qcow2 file=(qf: file filename=d.qcow2)",
      'io q "write -P 0x11 0 64k"',
      "del q",
      // The first L2 entry (at 256k) is 80 00 00 00 00 05 00 00: make it 0x50200.
      "add r: raw file=(file filename=d.qcow2)",
      'io r "write -P 0x02 262150 1"',
      "del r",
      "add q: qcow2 file=(qf: file filename=d.qcow2) read-only=on",
      'io q "read 0 4k"',
    ];
    expect(await refusal(lines)).toMatchObject({
      message:
        "E_MODEL_IO_UNSUPPORTED: the model engine does not model an unaligned qcow2 cluster offset (QEMU's qcow2_signal_corruption reports the image corrupt on stderr, and takes a writable node's driver away)",
      location: "tests/scenarios/t.scn:11",
    });
  });

  for (const [what, offset, pattern] of [
    ["unaligned", 65542, "0x02"],
    ["past 2^53, as a raw write of 0xff bytes over the table makes it", 65536, "0xff"],
  ] as const) {
    it(`a write that needs a refcount through a refcount table entry ${what}`, async () => {
      const lines = [
        "image d.qcow2 qcow2 1M",
        // The refcount table (at 64k) has one entry, 00 00 00 00 00 02 00 00.
        "add r: raw file=(file filename=d.qcow2)",
        `io r "write -P ${pattern} ${offset} ${pattern === "0xff" ? 8 : 1}"`,
        "del r",
        "add q: qcow2 file=(file filename=d.qcow2)",
        'io q "write -P 0x11 512k 512"',
      ];
      expect(await refusal(lines)).toMatchObject({
        message:
          "E_MODEL_IO_UNSUPPORTED: the model engine does not model an unaligned qcow2 refcount block offset (QEMU's qcow2_signal_corruption reports the image corrupt on stderr, and takes a writable node's driver away)",
        location: "tests/scenarios/t.scn:8",
      });
    });
  }

  const mirrorFailingOnce = (policy: string) => [
    "require jobs",
    "image src.raw raw 1M",
    "image tgt.raw raw 1M",
    "add src: raw file=(src-file: file filename=src.raw)",
    'qmp blockdev-add {"driver": "blkdebug", "node-name": "dbg", "image": {"driver": "file", "filename": "$TEST_DIR/tgt.raw"}, "inject-error": [{"event": "none", "errno": 5, "iotype": "write", "once": true}]}',
    "add tgt: raw file=dbg",
    `job mirror m0 src target=tgt sync=full on-target-error=${policy} auto-dismiss=off`,
    "wait m0 concluded",
  ];

  it("an EIO under on-target-error=enospc is reported: the job ends with it", async () => {
    const r = await run(['scenario "reported"', "require io", ...mirrorFailingOnce("enospc"), ""].join("\n"), new ModelEngine());
    expect(r.failures.filter((f) => f.kind !== "missing-golden")).toEqual([]);
    expect(r.transcript).toContain('event: BLOCK_JOB_COMPLETED device=m0 error="Input/output error"');
  });
});
