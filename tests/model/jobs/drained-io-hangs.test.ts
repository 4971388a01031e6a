/**
 * A mirror (or an active commit) that completes drains its source for the switch-over, and the
 * section ends only when the job is finalized (mirror_run → mirror_exit_common). qemu-io's
 * BlockBackend queues its requests behind that section (blk_wait_while_drained) and HMP waits for
 * them, so with auto-finalize=off a request on the source or above it, while the job is pending, is
 * a QEMU 7.2 that never answers again: the qemu engine kills it. The model stops there too, with
 * the same transcript; requests below the drained node, and commands that make none, still answer.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../../support/qemu.js";
import { inlineRunner } from "../../support/run-inline.js";

const run = inlineRunner(20_000);

/** A job held pending after its switch-over, then `last`. */
function pendingAfterSwitchOver(job: "mirror" | "commit", last: string, jobOptions = ""): string {
  const setup =
    job === "mirror"
      ? ["add tgt: qcow2 file=(tgt-file: file filename=tgt.qcow2)", `job mirror j0 src target=tgt sync=full auto-finalize=off${jobOptions}`]
      : ["add src: qcow2 file=(src-file: file filename=src.qcow2) backing=base", `job commit j0 src auto-finalize=off${jobOptions}`];
  return [
    `scenario "${job} pending"`,
    "require jobs",
    "require io",
    "image base.qcow2 qcow2 1M",
    "image src.qcow2 qcow2 1M",
    "image tgt.qcow2 qcow2 1M",
    "add base: qcow2 file=(base-file: file filename=base.qcow2)",
    ...(job === "mirror" ? ["add src: qcow2 file=(src-file: file filename=src.qcow2)"] : []),
    ...setup,
    "wait j0 ready",
    "job complete j0",
    "wait j0 pending",
    'io src-file "read 0 4k"',
    'io src "map"',
    last,
    "",
  ].join("\n");
}

const HANG_END = ["  QEMU hung and was killed", "(run stopped)", ""].join("\n");

describe("qemu-io behind a job's switch-over drain, on the model", () => {
  for (const request of ["read 0 4k", "write -P 0x11 0 4k", "write -z 0 4k", "discard 0 4k", "flush"]) {
    it(`'${request}' on a pending mirror's source hangs`, async () => {
      const r = await run(pendingAfterSwitchOver("mirror", `io src "${request}"`), new ModelEngine());
      expect(r.transcript).toContain('io src "map"\n  ok\n');
      expect(r.transcript!.endsWith(`io src "${request}"\n${HANG_END}`)).toBe(true);
      expect(r.failures).toEqual([expect.objectContaining({ kind: "error", infrastructure: true })]);
      expect(r.failures[0]!.message).toMatch(/^E_QEMU_WOULD_HANG: .*the model stops where QEMU 7\.2 hangs/s);
      expect(r.failures[0]!.message).toContain("blk_wait_while_drained");
    });
  }

  it("a request on the job's filter above the source hangs too: the drain reaches every parent", async () => {
    const r = await run(pendingAfterSwitchOver("mirror", 'io mf "read 0 4k"', " filter-node-name=mf"), new ModelEngine());
    expect(r.transcript!.endsWith(`io mf "read 0 4k"\n${HANG_END}`)).toBe(true);
  });

  it("an active commit's top hangs alike", async () => {
    const r = await run(pendingAfterSwitchOver("commit", 'io src "read 0 4k"'), new ModelEngine());
    expect(r.transcript!.endsWith(`io src "read 0 4k"\n${HANG_END}`)).toBe(true);
  });

  it("once the job is finalized, the section is over and the source answers", async () => {
    const text = pendingAfterSwitchOver("mirror", "job finalize j0") + ["wait j0 null", 'io src "read 0 4k"', ""].join("\n");
    const r = await run(text, new ModelEngine());
    expect(r.status).toBe("pass");
    expect(r.transcript).toMatch(/io src "read 0 4k"\n {2}ok\n {2}read 4096\/4096 bytes at offset 0\n/);
    expect(r.failures).toEqual([]);
  });
});

describeWithQemu("qemu-io behind a job's switch-over drain, on QEMU", () => {
  it("QEMU 7.2 hangs where the model says it does, and answers where the model does", { timeout: 60_000 }, async () => {
    const text = pendingAfterSwitchOver("mirror", 'io src "read 0 4k"');
    const model = await run(text, new ModelEngine());
    const qemu = await run(text, new QemuEngine({ callTimeoutMs: 3_000 }));
    expect(qemu.transcript!.endsWith(`io src "read 0 4k"\n${HANG_END}`)).toBe(true);
    expect(model.transcript).toBe(qemu.transcript);
    expect(qemu.failures[0]!.message).toMatch(/^E_QEMU_TIMEOUT: /);
  });
});
