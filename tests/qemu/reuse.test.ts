/**
 * A QEMU process kept for the next scenario (engines/qemu/reuse.ts): kept only when it is back in the
 * state of its start, with its working directory emptied back too, and ended otherwise.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { EngineFeature, QmpReply } from "../../src/engines/engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { reaper } from "../../src/engines/qemu/reaper.js";
import { describeWithQemu } from "../support/qemu.js";
import { alive } from "./fake-qemu.js";

let workdir: string;
const engines: QemuEngine[] = [];

beforeEach(() => {
  workdir = mkdtempSync(join(tmpdir(), "bc-reuse-"));
  // What the runner puts there before QEMU starts: it stays.
  writeFileSync(join(workdir, ".blockcheck-owner"), "x\n");
});
afterEach(async () => {
  for (const e of engines.splice(0)) {
    await e.stop();
    await e.successor(false);
  }
  rmSync(workdir, { recursive: true, force: true });
});

async function started(features: EngineFeature[] = [], objectOrder = false): Promise<QemuEngine> {
  const e = new QemuEngine();
  engines.push(e);
  await e.start({ workdir, features: new Set(features), reusable: true, objectOrder });
  return e;
}

/** The next scenario's engine on `e`'s process, started. */
async function next(e: QemuEngine, features: EngineFeature[] = []): Promise<QemuEngine | undefined> {
  const n = await e.successor(true);
  if (!n) return undefined;
  engines.push(n);
  await n.start({ workdir, features: new Set(features), reusable: true });
  return n;
}

function ok(r: QmpReply): unknown {
  if (!("return" in r)) throw new Error(JSON.stringify(r));
  return r.return;
}

describeWithQemu("reusing a QEMU process", () => {
  it("keeps a qemu-storage-daemon whose nodes, export, NBD server, bitmap and job are all gone, in its emptied directory", async () => {
    const e = await started();
    const entries = readdirSync(workdir).sort();
    const pid = e.pid;
    await e.createImage({ path: "base.qcow2", format: "qcow2", size: 1 << 20 });
    await e.createImage({ path: "top.qcow2", format: "qcow2", size: 1 << 20, backingFile: "base.qcow2", backingFormat: "qcow2" });
    ok(await e.qmp("blockdev-add", { driver: "qcow2", "node-name": "top", file: { driver: "file", filename: join(workdir, "top.qcow2") } }));
    ok(await e.qmp("block-dirty-bitmap-add", { node: "top", name: "b0" }));
    ok(await e.qmp("nbd-server-start", { addr: { type: "unix", data: { path: "nbd.sock" } } }));
    ok(await e.qmp("block-export-add", { type: "nbd", id: "e0", "node-name": "top" }));
    ok(await e.qmp("block-stream", { "job-id": "j0", device: "top" }));
    await e.waitEvent("BLOCK_JOB_COMPLETED", { timeoutMs: 10_000 });
    await e.waitEvent("JOB_STATUS_CHANGE", { timeoutMs: 10_000, match: { status: "null" } });
    expect(await e.stop()).toEqual({ kind: "clean" });
    // Kept, it is still the reaper's to kill on a signal (and dies with the runner on SIGKILL).
    expect(alive(pid)).toBe(true);
    expect(reaper.size).toBe(1);

    const n = (await next(e))!;
    expect(n).toBeDefined();
    expect(n.pid).toBe(pid);
    expect(readdirSync(workdir).sort()).toEqual(entries);
    expect(ok(await n.qmp("query-named-block-nodes"))).toEqual([]);
    expect(ok(await n.qmp("query-block-exports"))).toEqual([]);
    expect(ok(await n.qmp("query-jobs"))).toEqual([]);
    // The server was stopped: starting it again on the same name works.
    ok(await n.qmp("nbd-server-start", { addr: { type: "unix", data: { path: "nbd.sock" } } }));
    // The same names again, as a fresh process would take them.
    await n.createImage({ path: "top.qcow2", format: "qcow2", size: 1 << 20 });
    ok(await n.qmp("blockdev-add", { driver: "qcow2", "node-name": "top", file: { driver: "file", filename: join(workdir, "top.qcow2") } }));
    expect(await n.takeEvents()).toEqual([]);
    expect(await n.stop()).toEqual({ kind: "clean" });
    expect(await n.successor(false)).toBeUndefined();
    expect(alive(pid)).toBe(false);
    expect(reaper.size).toBe(0);
  });

  it("stops the NBD server before it deletes nodes: a node whose bitmap another node's export publishes goes without a crash", async () => {
    // Deleted first, m would be released with its bitmap busy, and QEMU 7.2 aborts; `quit` closes
    // the exports first and does not (tests/differential/qemu-bugs.test.ts).
    const e = await started();
    const pid = e.pid;
    ok(await e.qmp("blockdev-add", { driver: "null-co", "node-name": "n", size: 1 << 20 }));
    ok(await e.qmp("blockdev-add", { driver: "null-co", "node-name": "m", size: 1 << 20 }));
    ok(await e.qmp("block-dirty-bitmap-add", { node: "m", name: "c", disabled: true }));
    ok(await e.qmp("nbd-server-start", { addr: { type: "unix", data: { path: "nbd.sock" } } }));
    ok(await e.qmp("block-export-add", { type: "nbd", id: "e1", "node-name": "n", bitmaps: [{ node: "m", name: "c" }] }));
    expect(await e.stop()).toEqual({ kind: "clean" });
    const n = (await next(e))!;
    expect(n.pid).toBe(pid);
    expect(ok(await n.qmp("query-named-block-nodes"))).toEqual([]);
  });

  it("resolves a relative external data file in the same directory as a fresh process does", async () => {
    const e = await started();
    await e.createImage({ path: "a.qcow2", format: "qcow2", size: 1 << 20, dataFile: "a.raw" });
    ok(await e.qmp("blockdev-add", { driver: "qcow2", "node-name": "a", file: { driver: "file", filename: join(workdir, "a.qcow2") } }));
    await e.stop();
    const n = (await next(e))!;
    expect(readdirSync(workdir)).not.toContain("a.raw");
    await n.createImage({ path: "b.qcow2", format: "qcow2", size: 1 << 20, dataFile: "b.raw" });
    ok(await n.qmp("blockdev-add", { driver: "qcow2", "node-name": "b", file: { driver: "file", filename: join(workdir, "b.qcow2") } }));
    const graph = ok(await n.qmp("x-debug-query-block-graph")) as { edges: { name: string }[] };
    expect(graph.edges.map((x) => x.name).sort()).toEqual(["data-file", "file"]);
  });

  it("keeps a qemu-system whose qemu-io output went to its log, and reads the next output from there", async () => {
    const e = await started(["io"]);
    const pid = e.pid;
    ok(await e.qmp("blockdev-add", { driver: "null-co", "node-name": "n0", size: 1 << 20 }));
    expect(await e.io("n0", "write 0 64k")).toMatch(/wrote 65536\/65536 bytes/);
    expect(await e.stop()).toEqual({ kind: "clean" });
    const n = (await next(e, ["io"]))!;
    expect(n.pid).toBe(pid);
    ok(await n.qmp("blockdev-add", { driver: "null-co", "node-name": "n0", size: 1 << 20 }));
    expect(await n.io("n0", "read 0 64k")).toMatch(/read 65536\/65536 bytes/);
  });

  it("keeps a process whose iothread, throttle group and secret the reset deleted; every process starts with /objects", async () => {
    const plain = new QemuEngine();
    engines.push(plain);
    await plain.start({ workdir });
    // QEMU makes the container on first use; the engine uses it at every start, kept or not.
    const atStart = ok(await plain.qmp("qom-list", { path: "/objects" }));
    expect(atStart).toEqual([{ name: "type", type: "string" }]);
    await plain.stop();

    const e = await started();
    const pid = e.pid;
    expect(ok(await e.qmp("qom-list", { path: "/objects" }))).toEqual(atStart);
    ok(await e.qmp("object-add", { "qom-type": "iothread", id: "io0" }));
    ok(await e.qmp("object-add", { "qom-type": "throttle-group", id: "t0", limits: {} }));
    ok(await e.qmp("object-add", { "qom-type": "secret", id: "s0", data: "x" }));
    ok(await e.qmp("blockdev-add", { driver: "null-co", "node-name": "n0" }));
    ok(await e.qmp("blockdev-add", { driver: "throttle", "node-name": "th", file: "n0", "throttle-group": "t0" }));
    ok(await e.qmp("x-blockdev-set-iothread", { "node-name": "th", iothread: "io0" }));
    expect(await e.stop()).toEqual({ kind: "clean" });

    const n = (await next(e))!;
    expect(n.pid).toBe(pid);
    expect(ok(await n.qmp("qom-list", { path: "/objects" }))).toEqual(atStart);
    expect(ok(await n.qmp("query-named-block-nodes"))).toEqual([]);
    // The same ids again, as a fresh process would take them.
    ok(await n.qmp("object-add", { "qom-type": "iothread", id: "io0" }));
    ok(await n.qmp("object-add", { "qom-type": "throttle-group", id: "t0", limits: {} }));
  });

  const notKept: Array<[string, (e: QemuEngine) => Promise<unknown>]> = [
    ["a quorum node (its events are throttled per process)", (e) => e.qmp("blockdev-add", { driver: "quorum", "node-name": "q", "vote-threshold": 1, children: [{ driver: "null-co" }] })],
    ["an HMP command other than qemu-io", (e) => e.qmp("human-monitor-command", { "command-line": "info version" })],
    ["a command the reset does not undo", (e) => e.qmp("stop")],
    ["a job left concluded", async (e) => {
      ok(await e.qmp("blockdev-add", { driver: "null-co", "node-name": "n0" }));
      ok(await e.qmp("block-stream", { "job-id": "j0", device: "n0", "auto-dismiss": false }));
      await e.waitEvent("JOB_STATUS_CHANGE", { timeoutMs: 10_000, match: { status: "concluded" } });
    }],
    [
      "a job left concluded in an iothread (deleting the iothread would free the context its end uses at quit)",
      async (e) => {
        ok(await e.qmp("object-add", { "qom-type": "iothread", id: "io0" }));
        ok(await e.qmp("blockdev-add", { driver: "null-co", "node-name": "src", size: 1 << 20 }));
        ok(await e.qmp("blockdev-add", { driver: "null-co", "node-name": "tgt", size: 1 << 20 }));
        ok(await e.qmp("nbd-server-start", { addr: { type: "unix", data: { path: "nbd.sock" } } }));
        ok(await e.qmp("block-export-add", { type: "nbd", id: "e0", "node-name": "src", writable: true, iothread: "io0", "fixed-iothread": true }));
        ok(await e.qmp("blockdev-mirror", { "job-id": "j0", device: "src", target: "tgt", sync: "full", "auto-dismiss": false }));
        await e.waitEvent("BLOCK_JOB_READY", { timeoutMs: 10_000 });
        ok(await e.qmp("block-job-cancel", { device: "j0" }));
        await e.waitEvent("JOB_STATUS_CHANGE", { timeoutMs: 10_000, match: { status: "concluded" } });
      },
    ],
    ["an object of a type the reset does not delete", (e) => e.qmp("object-add", { "qom-type": "authz-simple", id: "a0", identity: "x" })],
  ];
  it("ends the process after an object added and deleted, when it serves scenarios that see the order of /objects (its id's tombstone moves later ids)", async () => {
    const e = await started([], true);
    const pid = e.pid;
    ok(await e.qmp("object-add", { "qom-type": "iothread", id: "io0" }));
    ok(await e.qmp("object-del", { id: "io0" }));
    expect(await e.stop()).toEqual({ kind: "clean" });
    expect(await e.successor(true)).toBeUndefined();
    expect(alive(pid)).toBe(false);
  });

  for (const [what, scenario] of notKept) {
    it(`ends the process after ${what}`, async () => {
      const e = await started();
      const pid = e.pid;
      await scenario(e);
      expect(await e.stop()).toEqual({ kind: "clean" });
      expect(await e.successor(true)).toBeUndefined();
      expect(alive(pid)).toBe(false);
    });
  }

  it("keeps nothing when not started reusable, or stopped by its abort signal", async () => {
    const plain = new QemuEngine();
    engines.push(plain);
    await plain.start({ workdir });
    const pid = plain.pid;
    await plain.stop();
    expect(await plain.successor(true)).toBeUndefined();
    expect(alive(pid)).toBe(false);

    const abort = new AbortController();
    const e = new QemuEngine();
    engines.push(e);
    await e.start({ workdir, reusable: true, signal: abort.signal });
    abort.abort();
    await e.stop();
    expect(await e.successor(true)).toBeUndefined();
    expect(alive(e.pid)).toBe(false);
  });

  it("starts a fresh process when the kept one died while idle, and ends a successor that never starts", async () => {
    const e = await started();
    const pid = e.pid!;
    await e.stop();
    const n = (await e.successor(true))!;
    engines.push(n);
    process.kill(pid, "SIGKILL");
    await new Promise((r) => setTimeout(r, 50));
    await n.start({ workdir, reusable: true });
    expect(n.pid).not.toBe(pid);
    ok(await n.qmp("blockdev-add", { driver: "null-co", "node-name": "n0" }));
    await n.stop();

    const idle = (await n.successor(true))!;
    const idlePid = n.pid ?? idle.pid;
    expect(await idle.stop()).toEqual({ kind: "clean" });
    expect(alive(idlePid)).toBe(false);
  });

  it("refuses to start a kept process for other features or another directory", async () => {
    const e = await started();
    const pid = e.pid;
    await e.stop();
    const n = (await e.successor(true))!;
    engines.push(n);
    await expect(n.start({ workdir, features: new Set(["io"]), reusable: true })).rejects.toThrow(/cannot start a scenario needing qemu/);
    expect(alive(pid)).toBe(false);
  });
});
