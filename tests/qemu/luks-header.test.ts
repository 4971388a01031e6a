/**
 * LUKS header checks (qcrypto_block_luks_check_header, _parse_header) in the model against QEMU: a
 * valid image from the model's writer, one field corrupted at a time, opened by qemu-io (QEMU's
 * message follows "can't open: ") and by the model's blockdev-add, which must give the same error.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { L } from "../../src/engines/model/images/luks-format.js";
import { writeImage } from "../../src/engines/model/images/write-image.js";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { describeWithQemu } from "../support/qemu.js";

const io = process.env.QEMU_IO_PROG ?? "qemu-io";
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "blockcheck-luks-hdr-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const slot = (i: number, field: number) => L.keySlots + i * L.slotSize + field;

/** Name → what to change in a valid header. */
const CORRUPTIONS: [string, (b: Buffer) => void][] = [
  ["version", (b) => b.writeUInt16BE(2, L.version)],
  ["cipher name without NUL", (b) => b.fill(0x61, L.cipherName, L.cipherName + 32)],
  ["cipher mode without NUL", (b) => b.fill(0x61, L.cipherMode, L.cipherMode + 32)],
  ["hash spec without NUL", (b) => b.fill(0x61, L.hashSpec, L.hashSpec + 32)],
  ["payload over the header", (b) => b.writeUInt32BE(7, L.payloadOffset)],
  ["master key iterations zero", (b) => b.writeUInt32BE(0, L.masterKeyIterations)],
  ["stripes", (b) => b.writeUInt32BE(3999, slot(3, 44))],
  ["slot state", (b) => b.writeUInt32BE(1, slot(2, 0))],
  ["active slot without iterations", (b) => b.writeUInt32BE(0, slot(0, 4))],
  ["slot over the header", (b) => b.writeUInt32BE(4, slot(1, 40))],
  ["slot over the payload", (b) => b.writeUInt32BE(4040, slot(7, 40))],
  ["slots overlapping", (b) => b.writeUInt32BE(8 + 504 * 2, slot(1, 40))],
  ["cipher mode format", (b) => b.fill(0, L.cipherMode, L.cipherMode + 32).write("xts", L.cipherMode, "latin1")],
  ["cipher mode", (b) => b.fill(0, L.cipherMode, L.cipherMode + 32).write("gcm-plain64", L.cipherMode, "latin1")],
  ["iv hash", (b) => b.fill(0, L.cipherMode, L.cipherMode + 32).write("xts-plain64:sha3", L.cipherMode, "latin1")],
  ["cipher name", (b) => b.fill(0, L.cipherName, L.cipherName + 32).write("des", L.cipherName, "latin1")],
  ["key length", (b) => b.writeUInt32BE(40, L.masterKeyLen)],
  ["hash", (b) => b.fill(0, L.hashSpec, L.hashSpec + 32).write("whirlpool", L.hashSpec, "latin1")],
  ["iv generator", (b) => b.fill(0, L.cipherMode, L.cipherMode + 32).write("xts-benbi", L.cipherMode, "latin1")],
  ["essiv without hash", (b) => b.fill(0, L.cipherMode, L.cipherMode + 32).write("xts-essiv", L.cipherMode, "latin1")],
  ["payload past the end", (b) => b.writeUInt32BE(0x100000, L.payloadOffset)],
];

describeWithQemu("luks header checks: the model and QEMU", () => {
  it.each(CORRUPTIONS)("%s", async (_name, corrupt) => {
    const file = path.join(dir, "c.luks");
    writeImage(file, { path: "c.luks", format: "luks", size: 65536, createOptions: [["key-secret", "s"], ["iter-time", "1"]], secrets: [{ id: "s", props: { data: "pw" } }] });
    const bytes = readFileSync(file);
    corrupt(bytes);
    writeFileSync(file, bytes);
    const q = spawnSync(io, ["--object", "secret,id=s,data=pw", "--image-opts", `driver=luks,key-secret=s,file.filename=${file}`, "-c", "info"], { encoding: "utf8" });
    const qemuMessage = `${q.stdout}${q.stderr}`.match(/can't open: (.*)/)?.[1];
    expect(qemuMessage, `${q.stdout}${q.stderr}`).toBeDefined();
    const engine = new ModelEngine();
    await engine.start({ workdir: dir });
    try {
      await engine.qmp("object-add", { "qom-type": "secret", id: "s", data: "pw" });
      const reply = await engine.qmp("blockdev-add", { driver: "luks", "node-name": "l0", "key-secret": "s", file: { driver: "file", filename: file } });
      expect(reply).toEqual({ error: { class: "GenericError", desc: qemuMessage } });
    } finally {
      await engine.stop();
    }
  });
});
