/**
 * A stream's end writes its node's new backing file name into the qcow2 header
 * (qcow2_change_backing_file → qcow2_update_header), which QEMU builds from what it keeps in memory
 * and writes over whatever the node's file holds. The model rewrites the header it finds in the
 * file: when a reopen gave the node another file (here a raw image of zeros), there is no header to
 * rewrite, and the model must say it does not follow that, not fail with an internal error (found
 * by the differential fuzzer: a RangeError reading the zeros as a header). A null-co file takes the
 * header and keeps nothing, and the job completes, where the model once failed it with EIO.
 */
import { expect, it } from "vitest";
import { ModelEngine } from "../../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../../support/qemu.js";
import { inlineRunner } from "../../support/run-inline.js";

const run = inlineRunner(20_000);

it("a stream's end over a qcow2 whose file a reopen replaced is refused as not modelled", async () => {
  const text = [
    'scenario "a backing file change after the file was swapped"',
    "require jobs",
    "image e.raw raw 64k",
    "add r0: raw file=(file filename=e.raw)",
    "image base.qcow2 qcow2 1M",
    "graph {",
    "  c3: null-co",
    "  c4: qcow2 file=(file filename=base.qcow2) backing=c3",
    "}",
    "job stream j1 c4 auto-finalize=off",
    "wait j1 pending",
    "reopen c4 file=r0",
    "job finalize j1",
    "",
  ].join("\n");
  const r = await run(text, new ModelEngine());
  expect(r.failures.map((f) => f.message)).toEqual([
    "E_MODEL_IO_UNSUPPORTED: the model engine does not model a backing file change of qcow2 node 'c4' whose file no longer holds its header (QEMU writes the header it keeps in memory)",
  ]);
});

const ONTO_NULL = [
  'scenario "a stream\'s end over a qcow2 whose file a reopen made a null-co"',
  "require jobs",
  "image base.qcow2 qcow2 1M",
  "graph {",
  "  c8: null-co",
  "  c9: qcow2 file=(file filename=base.qcow2) backing=c8",
  "  c10: null-co",
  "}",
  "reopen c9 file=c10",
  "job stream j12 c9",
  "wait j12 null",
  "",
].join("\n");

it("a stream's end over a qcow2 whose file is a null-co completes: the header write vanishes", async () => {
  const r = await run(ONTO_NULL, new ModelEngine());
  expect(r.transcript).toContain("event: BLOCK_JOB_COMPLETED device=j12 len=1048576 offset=1048576 speed=0 type=stream\n");
});

describeWithQemu("a stream's end over a qcow2 whose file is a null-co, on QEMU", () => {
  it("the transcripts are the same", async () => {
    const [model, qemu] = [await run(ONTO_NULL, new ModelEngine()), await run(ONTO_NULL, new QemuEngine())];
    expect(model.transcript).toBe(qemu.transcript);
  }, 30_000);
});
