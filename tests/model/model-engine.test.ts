/** The ModelEngine face of the model: lifecycle, greeting, capabilities, images, events. */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QmpEventTimeoutError } from "../../src/qmp/errors.js";
import { qemuJson } from "./support/qsd.js";

describe("ModelEngine", () => {
  let dir: string;
  let engine: ModelEngine;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "blockcheck-engine-"));
    engine = new ModelEngine();
    await engine.start({ workdir: dir });
  });
  afterEach(async () => {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("describes itself as qemu-storage-daemon 7.2.22 greets", () => {
    const info = engine.describe();
    expect(info).toMatchObject({ kind: "model", version: { major: 7, minor: 2, micro: 22 }, io: false });
    expect(info.drivers).toEqual(["blkdebug", "compress", "copy-on-read", "file", "null-co", "preallocate", "qcow2", "raw", "throttle"]);
    expect(qemuJson(info.greeting)).toBe(
      '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}',
    );
  });

  it("is already in command mode and answers query-version like the binary", async () => {
    expect(await engine.qmp("qmp_capabilities")).toEqual({
      error: { class: "CommandNotFound", desc: "Capabilities negotiation is already complete, command ignored" },
    });
    expect(qemuJson(await engine.qmp("query-version"))).toBe(
      '{"return": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}}',
    );
    expect(await engine.qmp("no-such-command")).toEqual({
      error: { class: "CommandNotFound", desc: "The command no-such-command has not been found" },
    });
  });

  it("creates images relative to the workdir and opens them by relative name", async () => {
    await engine.createImage({ path: "base.qcow2", format: "qcow2", size: 1 << 20 });
    await engine.createImage({ path: "top.qcow2", format: "qcow2", size: 1 << 20, backingFile: "base.qcow2", backingFormat: "qcow2" });
    await engine.createImage({ path: "raw.img", format: "raw", size: 65536 });
    expect(readFileSync(join(dir, "top.qcow2")).subarray(0, 4).toString("latin1")).toBe("QFI\xfb");
    expect(statSync(join(dir, "raw.img")).size).toBe(65536);
    expect(await engine.qmp("blockdev-add", { driver: "qcow2", "node-name": "q0", file: { driver: "file", filename: "top.qcow2" } })).toEqual({
      return: {},
    });
  });

  it("queues BLOCK_EXPORT_DELETED for takeEvents and waitEvent", async () => {
    await engine.qmp("blockdev-add", { driver: "null-co", "node-name": "n0" });
    await engine.qmp("nbd-server-start", { addr: { type: "unix", data: { path: join(dir, "nbd.sock") } } });
    await engine.qmp("block-export-add", { type: "nbd", id: "e0", "node-name": "n0" });
    await engine.qmp("block-export-del", { id: "e0" });
    expect(await engine.waitEvent("BLOCK_EXPORT_DELETED", 1000)).toMatchObject({ event: "BLOCK_EXPORT_DELETED", data: { id: "e0" } });
    expect(engine.takeEvents()).toEqual([]);
    await expect(engine.waitEvent("BLOCK_EXPORT_DELETED", 10)).rejects.toBeInstanceOf(QmpEventTimeoutError);
  });

  it("refuses commands after quit and after stop; stop is idempotent", async () => {
    expect(await engine.qmp("quit")).toEqual({ return: {} });
    await expect(engine.qmp("query-version")).rejects.toThrow(/stopped/);
    await engine.stop();
    await engine.stop();
  });
});
