/**
 * blkdebug below qcow2 (the scenarios io/blkdebug-qcow2-*.scn hold what QEMU answers): rules
 * waiting for qcow2's guest data events are followed; rules waiting for its metadata events, and
 * an error a rule would inject into a metadata request, are refused as the model's limit, never
 * answered with a guess. A backup's copy pass goes on past a task that fails after its first wait,
 * as block_copy_dirty_clusters starts its tasks before any completes.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

function scenario(...steps: string[]): string {
  return ['scenario "blkdebug under qcow2"', "require io", "image d.qcow2 qcow2 1M", ...steps, ""].join("\n");
}

const blkdebugQcow2 = (rules: string) => `add d: qcow2 file=(df: blkdebug image=(file filename=d.qcow2) ${rules})`;

describe("blkdebug rules below a qcow2 node, on the model", () => {
  it("fail a guest data write and give its new cluster back", async () => {
    const r = await run(
      scenario(
        blkdebugQcow2('inject-error=[{"event": "write_aio", "errno": 5, "once": true}]'),
        'io d "write -P 0x11 0 64k" -> error "write failed: Input/output error"',
        'io d "write -P 0x22 64k 64k"',
        // The cluster the failed write took, after the L2 table, holds the next write.
        'io df "read -P 0x22 0x50000 64k"',
      ),
      new ModelEngine(),
    );
    expect(r.failures).toEqual([]);
  });

  it("refuse rules that wait for qcow2's metadata events", async () => {
    const r = await run(scenario(blkdebugQcow2('inject-error=[{"event": "l2_load", "errno": 5}]'), 'io d "read 0 4k"'), new ModelEngine());
    expect(r.failures.map((f) => f.message)).toEqual([
      "E_MODEL_IO_UNSUPPORTED: the model engine does not model blkdebug rules under a 'qcow2' node (its 'l2_load' event is not modelled)",
    ]);
  });

  it("refuse an error injected into a metadata write, and let one fail a flush", async () => {
    const rules = 'inject-error=[{"event": "write_aio", "errno": 5, "iotype": "flush"}, {"event": "write_aio", "errno": 28, "sector": 128}]';
    const flushOnly = await run(scenario(blkdebugQcow2(rules.replace(', {"event": "write_aio", "errno": 28, "sector": 128}', "")), 'io d "write 0 4k"', 'io d "flush"'), new ModelEngine());
    expect(flushOnly.failures).toEqual([]);
    // The flush writes the refcount block back, at 0x20000 (sector 256).
    const metadata = await run(scenario(blkdebugQcow2(rules.replace('"sector": 128', '"sector": 256')), 'io d "write 0 4k"', 'io d "flush"'), new ModelEngine());
    expect(metadata.failures.map((f) => f.message)).toEqual([
      "E_MODEL_IO_UNSUPPORTED: the model engine does not model a blkdebug error injected into a format's metadata request (write at 131072); only guest data requests are followed",
    ]);
  });

  it("order a node's inline blkdebug rules in its filename as given", async () => {
    const r = await run(
      scenario(
        blkdebugQcow2('inject-error=[{"event": "write_aio", "errno": 5}, {"event": "read_aio", "errno": 6}]'),
        "show node df filename",
      ),
      new ModelEngine(),
    );
    expect(r.failures).toEqual([]);
    expect(r.transcript).toContain('\\"inject-error.0.errno\\": 5, \\"inject-error.1.errno\\": 6, \\"inject-error.0.event\\": \\"write_aio\\", \\"inject-error.1.event\\": \\"read_aio\\"');
  });
});

/**
 * Four data clusters of a qcow2 source, backed up into a qcow2 whose file fails the first data
 * write (write_aio, once). Every task reads its cluster from the thread pool before it writes, so
 * all of them have started when the failed one comes back: only the cluster that failed is left
 * out of the target. Which cluster that is depends, on QEMU, on which read completes first; the
 * model takes the first.
 */
const BACKUP = [
  'scenario "a backup whose first target write fails"',
  "require jobs",
  "require io",
  "image s.qcow2 qcow2 1M",
  "image t.qcow2 qcow2 1M",
  "add s: qcow2 file=(file filename=s.qcow2)",
  ...[0, 2, 4, 6].map((i) => `io s "write -P 0x1${i} ${i * 64}k 64k"`),
  'add t: qcow2 file=(tf: blkdebug image=(file filename=t.qcow2) inject-error=[{"event": "write_aio", "errno": 5, "once": true}])',
  "job backup j s target=t sync=full on-target-error=report",
  "wait j null",
  'io t "map"',
  "",
].join("\n");

/** The ranges `map` says are not allocated. */
const holes = (transcript: string) => [...transcript.matchAll(/^ {2}(.*) bytes not allocated at offset/gm)].map((m) => m[1]);

describe("a backup whose target write fails, on the model", () => {
  it("copies every other cluster: the pass sees the failure only once its tasks have started", async () => {
    const r = await run(BACKUP, new ModelEngine());
    expect(r.failures).toEqual([]);
    expect(r.transcript).toContain('error="Input/output error"');
    expect(holes(r.transcript!)).toEqual(["64 KiB (0x10000)"]);
    expect(r.transcript).toContain("64 KiB (0x10000) bytes not allocated at offset 0 bytes (0x0)");
  });
});

describeWithQemu("a backup whose target write fails, on QEMU", () => {
  it("leaves one cluster out, as the model does", async () => {
    const r = await run(BACKUP, new QemuEngine());
    expect(r.failures).toEqual([]);
    expect(holes(r.transcript!)).toEqual(["64 KiB (0x10000)"]);
  }, 30_000);
});
