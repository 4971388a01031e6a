/**
 * What the model's qemu-io does that a recording cannot show: sleep lets its virtual clock run,
 * abort is QEMU's crash, a command the model does not run is a typed error and never an answer,
 * and the temporary BlockBackend is gone once the command returns.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EngineCrashedError } from "../../../src/engines/errors.js";
import { ModelEngine } from "../../../src/engines/model/model-engine.js";

describe("qemu-io on the model engine", () => {
  let dir: string;
  let engine: ModelEngine;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "bc-model-io-"));
    engine = new ModelEngine();
    await engine.start({ workdir: dir });
    await engine.createImage({ path: "d.qcow2", format: "qcow2", size: 1 << 20 });
    expect(await engine.qmp("blockdev-add", { driver: "qcow2", "node-name": "q", file: { driver: "file", filename: join(dir, "d.qcow2") } })).toEqual({ return: {} });
  });
  afterEach(async () => {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sleeps on the virtual clock", async () => {
    const before = engine.loop.nowNs;
    expect(await engine.io("q", "sleep 250")).toBe("");
    expect(engine.loop.nowNs - before).toBe(250_000_000);
  });

  it("crashes as QEMU does on abort", async () => {
    await expect(engine.io("q", "abort")).rejects.toBeInstanceOf(EngineCrashedError);
    expect(await engine.stop()).toMatchObject({ kind: "crashed", exit: { signal: "SIGABRT" } });
  });

  it("refuses commands it does not run, and what HMP cannot carry, with typed errors", async () => {
    // wait_break without a suspended request makes QEMU wait for ever.
    await expect(engine.io("q", "wait_break t")).rejects.toMatchObject({ code: "E_MODEL_IO_UNSUPPORTED" });
    // The argument count is still checked first, as qemu-io does.
    expect(await engine.io("q", "truncate")).toBe("bad argument count 0 to truncate, expected between 1 and 3 arguments\n");
    // A pattern from a file is not modelled.
    await expect(engine.io("q", "write -s pattern.bin 0 4k")).rejects.toMatchObject({ code: "E_MODEL_IO_UNSUPPORTED" });
    await expect(engine.io("two words", "read 0 1")).rejects.toMatchObject({ code: "E_QEMU_IO" });
    await expect(engine.io("q", "read 0 1\nread 0 1")).rejects.toMatchObject({ code: "E_QEMU_IO" });
  });

  it("takes the temporary BlockBackend and its permission away again", async () => {
    const graph = async () => JSON.stringify(await engine.qmp("x-debug-query-block-graph"));
    const before = await graph();
    expect(await engine.io("q", "write -P 1 0 4k")).toMatch(/^wrote 4096\/4096/);
    expect(await graph()).toBe(before);
  });
});
