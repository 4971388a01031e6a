/**
 * Where QEMU 7.2's data path does something the model does not follow, the model refuses the step
 * (E_MODEL_IO_UNSUPPORTED, located at it) instead of answering differently:
 * - a qemu-io number above 2^53: QEMU's offsets are int64, the model's doubles would round it;
 * - a guest data write over qcow2 metadata in a request of several tasks, or one that also takes
 *   new clusters: the others' outcome and the clusters qcow2_handle_l2meta drops are not followed;
 * - an aligned refcount block offset past 2^53, which the model's numbers cannot hold;
 * - QMP commands other than blockdev-del and two queries while a corruption left a node without
 *   its driver;
 * A refused write may leave a node's caches dirty; the flush of the close that follows, which the
 * model cannot follow either, stops the closing, not the run: the refusal stays the only failure.
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

  it("a guest data write over the L1 table, with a part that takes a new cluster", async () => {
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
      'io q "write -P 3 0 128k"',
    ];
    expect(await refusal(lines)).toMatchObject({
      message: "E_MODEL_IO_UNSUPPORTED: the model engine does not model a guest data write over qcow2 metadata (active L1 table) in a request of several tasks or with new clusters",
      location: "tests/scenarios/t.scn:11",
    });
  });

  it("a refcount table entry past 2^53 that is cluster aligned", async () => {
    const lines = [
      "image d.qcow2 qcow2 1M",
      // The refcount table (at 64k) has one entry, 00 00 00 00 00 02 00 00: make it 0x0100000000020000.
      "add r: raw file=(file filename=d.qcow2)",
      'io r "write -P 0x01 65536 1"',
      "del r",
      "add q: qcow2 file=(file filename=d.qcow2)",
      'io q "write -P 0x11 512k 512"',
    ];
    expect(await refusal(lines)).toMatchObject({
      message: "E_MODEL_IO_UNSUPPORTED: the model engine does not model a qcow2 refcount block offset past 2^53",
      location: "tests/scenarios/t.scn:8",
    });
  });

  it("a QMP command while a qcow2 node has no driver", async () => {
    const lines = [
      "image d.qcow2 qcow2 1M",
      "add q: qcow2 file=(qf: file filename=d.qcow2)",
      'io q "write -P 0x11 0 64k"',
      "del q",
      // The first L2 entry (at 256k) is 80 00 00 00 00 05 00 00: make it 0x50200.
      "add r: raw file=(file filename=d.qcow2)",
      'io r "write -P 0x02 262150 1"',
      "del r",
      "add q: qcow2 file=(qf: file filename=d.qcow2)",
      'io q "read 0 4k"                 -> error "read failed: Input/output error"',
      "add n: null-co",
    ];
    expect(await refusal(lines)).toMatchObject({
      message: "E_MODEL_UNSUPPORTED: the model engine does not implement the QMP command 'blockdev-add' while node 'q' has no driver (a qcow2 corruption took it away)",
      location: "tests/scenarios/t.scn:12",
    });
  });

  it("a write refused part way leaves dirty qcow2 caches that the close cannot flush: only the refusal", async () => {
    const lines = [
      "image b.qcow2 qcow2 1M",
      "add q: qcow2 file=(file filename=b.qcow2)",
      "image f.vhdx vhdx 1M",
      "add v: vhdx file=(file filename=f.vhdx)",
      "reopen q file=v",
      'io q "write 0 4k"',
    ];
    const r = await run(['scenario "refused"', "require io", ...lines, ""].join("\n"), new ModelEngine());
    expect(r.failures.filter((f) => f.kind !== "missing-golden")).toMatchObject([
      { message: "E_MODEL_IO_UNSUPPORTED: the model engine does not model writes through a 'vhdx' node", location: "tests/scenarios/t.scn:8" },
    ]);
    expect(r.transcript!.endsWith("reopen q file=v\n  ok\n(run stopped)\n")).toBe(true);
  });

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
