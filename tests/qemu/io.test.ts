/** qemu-io through qemu-system's HMP: output comes from QEMU's stdout and must land on the right call. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { alive } from "./fake-qemu.js";

const RATE = /\d+ KiB, 1 ops; [\d:.]+ sec \([^)]*\)/;

describeWithQemu("qemu engine io (qemu-system -M none)", () => {
  let workdir: string;
  let e: QemuEngine;

  beforeAll(async () => {
    workdir = mkdtempSync(join(tmpdir(), "bc-qemu-test-"));
    e = new QemuEngine();
    await e.start({ workdir, features: new Set(["io"]) });
    await e.createImage({ path: "disk.qcow2", format: "qcow2", size: 1 << 20 });
    await e.qmp("blockdev-add", { driver: "qcow2", "node-name": "disk", file: { driver: "file", filename: join(workdir, "disk.qcow2") } });
  });
  afterAll(async () => {
    const pid = e.pid;
    await e.stop();
    expect(alive(pid)).toBe(false);
    rmSync(workdir, { recursive: true, force: true });
  });

  it("describes io support and the same QEMU", () => {
    expect(e.describe()).toMatchObject({ version: { major: 7, minor: 2 } });
    expect([...e.describe().features]).toEqual(["io", "jobs"]);
    expect(e.describe().drivers).toContain("qcow2");
  });

  it("attributes write and read output to their own calls", async () => {
    const wrote = await e.io("disk", "write -P 0xa5 0 64k");
    expect(wrote.replace(RATE, "RATE")).toBe("wrote 65536/65536 bytes at offset 0\nRATE\n");
    const read = await e.io("disk", "read -P 0xa5 0 64k");
    expect(read.replace(RATE, "RATE")).toBe("read 65536/65536 bytes at offset 0\nRATE\n");
  });

  it("shows a failed pattern check in the output of the call that made it", async () => {
    const read = await e.io("disk", "read -P 0x5a 0 4k");
    expect(read).toMatch(/^Pattern verification failed at offset 0, 4096 bytes\nread 4096\/4096 bytes at offset 0\n/);
    // The next call starts clean.
    expect(await e.io("disk", "read -P 0xa5 4k 4k")).toMatch(/^read 4096\/4096 bytes at offset 4096\n/);
  });

  it("returns HMP's message for an unknown node and qemu-io's for an unknown command", async () => {
    expect(await e.io("nosuch", "read 0 1")).toBe("Error: Cannot find device='' nor node-name='nosuch'\r\n");
    expect(await e.io("disk", "frobnicate")).toBe('command "frobnicate" not found\n');
  });

  it("keeps concurrent io calls apart", async () => {
    const [a, b] = await Promise.all([e.io("disk", "write -P 0x11 0 4k"), e.io("disk", "read -P 0x11 0 4k")]);
    expect(a).toMatch(/^wrote 4096\/4096 bytes at offset 0\n[^\n]+\n$/);
    expect(b).toMatch(/^read 4096\/4096 bytes at offset 0\n[^\n]+\n$/);
  });

  it("rejects a node name HMP cannot carry, as a typed error", async () => {
    await expect(e.io("two words", "read 0 1")).rejects.toMatchObject({ code: "E_QEMU_IO" });
  });

  it("passes quotes and backslashes through HMP quoting", async () => {
    expect(await e.io("disk", 'frob"ni\\cate')).toBe('command "frob"ni\\cate" not found\n');
  });
});
