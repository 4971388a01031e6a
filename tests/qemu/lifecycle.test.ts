/** The qemu engine on real qemu-storage-daemon: start, QMP, images, stop, and what is left behind. */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { QemuEngineStateError, QemuImgError } from "../../src/engines/qemu/errors.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { reaper } from "../../src/engines/qemu/reaper.js";
import { describeWithQemu } from "../support/qemu.js";
import { alive } from "./fake-qemu.js";

let workdir: string;
const engines: QemuEngine[] = [];

beforeEach(() => {
  workdir = mkdtempSync(join(tmpdir(), "bc-qemu-test-"));
});
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()));
  rmSync(workdir, { recursive: true, force: true });
});

function engine(): QemuEngine {
  const e = new QemuEngine();
  engines.push(e);
  return e;
}

describeWithQemu("qemu engine on qemu-storage-daemon", () => {
  it("starts, describes QEMU 7.2, runs a graph, and stops without leftovers", async () => {
    const e = engine();
    await e.start({ workdir });
    const pid = e.pid;
    expect(alive(pid)).toBe(true);
    expect(statSync(e.scratchDir!).mode & 0o777).toBe(0o700);

    const info = e.describe();
    expect(info.kind).toBe("qemu");
    expect(info.version).toMatchObject({ major: 7, minor: 2 });
    expect(info.drivers).toEqual(expect.arrayContaining(["file", "raw", "qcow2", "null-co", "blkdebug", "throttle"]));
    expect([...info.features]).toEqual(["jobs"]);
    expect(info.greeting).toMatchObject({ QMP: { version: { qemu: info.version }, capabilities: ["oob"] } });

    await e.createImage({ path: "base.qcow2", format: "qcow2", size: 1 << 20 });
    await e.createImage({ path: "sub/top.qcow2", format: "qcow2", size: 1 << 20, backingFile: "../base.qcow2", backingFormat: "qcow2" });
    const added = await e.qmp("blockdev-add", {
      driver: "qcow2",
      "node-name": "top",
      file: { driver: "file", filename: join(workdir, "sub/top.qcow2") },
    });
    expect(added).toEqual({ return: {} });
    const graph = (await e.qmp("x-debug-query-block-graph")) as { return: { edges: { name: string }[] } };
    expect(graph.return.edges.map((edge) => edge.name).sort()).toEqual(["backing", "file", "file"]);
    // A QMP error is a reply, not an exception.
    expect(await e.qmp("blockdev-del", { "node-name": "nosuch" })).toEqual({
      error: { class: "GenericError", desc: "Failed to find node with node-name='nosuch'" },
    });
    expect(await e.qmp("qmp_capabilities")).toEqual({
      error: { class: "CommandNotFound", desc: "Capabilities negotiation is already complete, command ignored" },
    });

    await e.stop();
    await e.stop();
    expect(alive(pid)).toBe(false);
    expect(reaper.size).toBe(0);
    // Only the scenario's images remain: no socket, no log, no private directory.
    expect(readdirSync(workdir).sort()).toEqual(["base.qcow2", "sub"]);
    await expect(e.qmp("query-version")).rejects.toBeInstanceOf(QemuEngineStateError);
  });

  it("delivers events through takeEvents and waitEvent", async () => {
    const e = engine();
    await e.start({ workdir });
    await e.createImage({ path: "a.raw", format: "raw", size: 1 << 20 });
    const sock = join(workdir, "nbd.sock");
    expect(await e.qmp("nbd-server-start", { addr: { type: "unix", data: { path: sock } } })).toEqual({ return: {} });
    await e.qmp("blockdev-add", { driver: "raw", "node-name": "r0", file: { driver: "file", filename: join(workdir, "a.raw") } });
    await e.qmp("block-export-add", { type: "nbd", id: "e0", "node-name": "r0" });
    expect(await e.qmp("block-export-del", { id: "e0" })).toEqual({ return: {} });
    const event = await e.waitEvent("BLOCK_EXPORT_DELETED", { timeoutMs: 5_000 });
    expect(event).toMatchObject({ event: "BLOCK_EXPORT_DELETED", data: { id: "e0" } });
    expect(e.takeEvents()).toEqual([]);
  });

  it("reports qemu-img's own message when an image cannot be made", async () => {
    const e = engine();
    await e.start({ workdir });
    const error = await e
      .createImage({ path: "top.qcow2", format: "qcow2", size: 1 << 20, backingFile: "missing.qcow2", backingFormat: "qcow2" })
      .catch((x: unknown) => x);
    expect(error).toBeInstanceOf(QemuImgError);
    expect((error as Error).message).toMatch(/missing\.qcow2/);
  });

  it("runs several engines at once, each with its own process and directory", async () => {
    const all = [engine(), engine(), engine()];
    await Promise.all(all.map((e) => e.start({ workdir })));
    const pids = all.map((e) => e.pid);
    expect(new Set(pids).size).toBe(3);
    expect(new Set(all.map((e) => e.logPath)).size).toBe(3);
    const replies = await Promise.all(all.map((e, i) => e.qmp("blockdev-add", { driver: "null-co", "node-name": `n${i}` })));
    expect(replies).toEqual([{ return: {} }, { return: {} }, { return: {} }]);
    // Node names are per process: each engine sees only its own.
    const names = await Promise.all(all.map((e) => e.qmp("query-named-block-nodes", { flat: true })));
    expect(names.map((r) => (r as { return: { "node-name": string }[] }).return.map((n) => n["node-name"]))).toEqual([["n0"], ["n1"], ["n2"]]);
    await Promise.all(all.map((e) => e.stop()));
    expect(pids.filter(alive)).toEqual([]);
    expect(readdirSync(workdir)).toEqual([]);
  });
});
