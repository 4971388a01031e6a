/**
 * Images the model wrote are images QEMU reads: after guest writes on the model (qcow2 with a
 * backing file, compressed and zero clusters, an external data file, a raw window), real
 * `qemu-io` reads every pattern back, `qemu-img check` finds no error and `qemu-img info` agrees
 * on what the image is.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ModelEngine } from "../../../src/engines/model/model-engine.js";
import { describeWithQemu } from "../../support/qemu.js";

const IO = process.env.QEMU_IO_PROG ?? "qemu-io";
const IMG = process.env.QEMU_IMG_PROG ?? "qemu-img";

describeWithQemu("images written by the model, read by QEMU", () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "bc-model-images-"));
    const e = new ModelEngine();
    await e.start({ workdir: dir });
    await e.createImage({ path: "base.qcow2", format: "qcow2", size: 4 << 20 });
    await e.createImage({ path: "top.qcow2", format: "qcow2", size: 4 << 20, backingFile: "base.qcow2", backingFormat: "qcow2" });
    await e.createImage({ path: "x.qcow2", format: "qcow2", size: 1 << 20, dataFile: "x.data" });
    await e.createImage({ path: "r.raw", format: "raw", size: 2 << 20 });
    const add = async (args: Record<string, unknown>) => expect(await e.qmp("blockdev-add", args)).toEqual({ return: {} });
    const io = async (node: string, command: string) => expect(await e.io(node, command)).toMatch(/^wrote /);
    await add({ driver: "qcow2", "node-name": "top", file: { driver: "file", filename: join(dir, "top.qcow2") } });
    await io("top", "write -P 0x11 0 100k");
    await io("top", "write -c 1M 64k");
    await io("top", "write -z 2M 64k");
    await io("top", "write -P 0x22 3149824 4k");
    await add({ driver: "qcow2", "node-name": "x", file: { driver: "file", filename: join(dir, "x.qcow2") }, "data-file": { driver: "file", filename: join(dir, "x.data") } });
    await io("x", "write -P 0x33 64k 128k");
    await add({ driver: "raw", "node-name": "w", offset: 1 << 20, file: { driver: "file", filename: join(dir, "r.raw") } });
    await io("w", "write -P 0x44 4k 8k");
    await e.stop();
    // The model's images are in memory until asked for on disk.
    e.writeFilesOut();
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const qemuIo = (fmt: string, image: string, ...commands: string[]) =>
    execFileSync(IO, ["-f", fmt, ...commands.flatMap((c) => ["-c", c]), image], { cwd: dir, encoding: "utf8" });

  it("reads back the model's data, through the backing file where the model left clusters unallocated", () => {
    const out = qemuIo("qcow2", "top.qcow2", "read -P 0x11 0 100k", "read -P 0 100k 28k", "read -P 0xcd 1M 64k", "read -P 0 2M 64k", "read -P 0 3M 4k", "read -P 0x22 3149824 4k", "read -P 0 3153920 60k");
    expect(out).not.toContain("Pattern verification failed");
    expect(out.match(/^read \d+\/\d+ bytes/gm)).toHaveLength(7);
    expect(qemuIo("qcow2", "x.qcow2", "read -P 0 0 64k", "read -P 0x33 64k 128k")).not.toContain("failed");
    expect(qemuIo("raw", "r.raw", "read -P 0 0 1M", "read -P 0 1M 4k", "read -P 0x44 1052672 8k")).not.toContain("failed");
  });

  it("leaves images qemu-img check finds clean, with the clusters qemu-img map shows", () => {
    for (const image of ["top.qcow2", "base.qcow2", "x.qcow2"]) {
      expect(execFileSync(IMG, ["check", image], { cwd: dir, encoding: "utf8" })).toContain("No errors were found on the image.");
    }
    const map = JSON.parse(execFileSync(IMG, ["map", "--output=json", "top.qcow2"], { cwd: dir, encoding: "utf8" })) as { start: number; length: number; depth: number; zero: boolean; data: boolean }[];
    const at = (offset: number) => map.find((m) => m.start <= offset && offset < m.start + m.length)!;
    expect(at(0)).toMatchObject({ depth: 0, data: true });
    expect(at(1 << 20)).toMatchObject({ depth: 0, data: true });
    expect(at(2 << 20)).toMatchObject({ depth: 0, zero: true, data: false });
    expect(at(3 << 19)).toMatchObject({ depth: 1, zero: true });
  });

  it("keeps what qemu-img info says of an image", () => {
    const info = JSON.parse(execFileSync(IMG, ["info", "--output=json", "top.qcow2"], { cwd: dir, encoding: "utf8" })) as Record<string, unknown>;
    expect(info).toMatchObject({ format: "qcow2", "virtual-size": 4 << 20, "backing-filename": "base.qcow2", "backing-filename-format": "qcow2", "cluster-size": 65536 });
  });
});
