/**
 * The model's LUKS writer against `qemu-img create -f luks`: qemu-img draws the master key, the
 * salts, the UUID and the splitter's stripes at random and times the iteration counts, so the
 * files cannot be equal. What must be equal: the header's fixed fields (magic, version, names,
 * payload offset, key length, every slot's offset, stripes and state), the file's length and its
 * allocation; masked are the master key digest, master key salt and iterations, the UUID, slot 0's
 * salt and iterations, and the key material. And QEMU must open the model's image with the
 * passphrase (qemu-io reads through it) and refuse another.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { ImageSpec } from "../../src/engines/engine.js";
import { createImage, qemuImgCreateArgs } from "../../src/engines/qemu/images.js";
import { L, LUKS_HEADER_SIZE, LUKS_NUM_KEY_SLOTS } from "../../src/engines/model/images/luks-format.js";
import { writeImage } from "../../src/engines/model/images/write-image.js";
import { describeWithQemu } from "../support/qemu.js";

const img = process.env.QEMU_IMG_PROG ?? "qemu-img";
const io = process.env.QEMU_IO_PROG ?? "qemu-io";
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "blockcheck-luks-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = { id: "sec0", props: { data: "pass,word" } };

function spec(name: string, size: number, options: [string, string][]): ImageSpec {
  return { path: name, format: "luks", size, createOptions: [["key-secret", "sec0"], ["iter-time", "10"], ...options], secrets: [SECRET] };
}

/** The header with the random and timed fields zeroed. */
function maskedHeader(file: string): Buffer {
  const h = Buffer.from(readFileSync(file).subarray(0, LUKS_HEADER_SIZE));
  h.fill(0, L.masterKeyDigest, L.uuid + 40);
  for (let i = 0; i < LUKS_NUM_KEY_SLOTS; i++) h.fill(0, L.keySlots + i * L.slotSize + 4, L.keySlots + i * L.slotSize + 40);
  return h;
}

function qemuIoRead(file: string, passphrase: string): { status: number | null; output: string } {
  const r = spawnSync(io, ["--object", `secret,id=s,data=${passphrase}`, "--image-opts", `driver=luks,key-secret=s,file.filename=${file}`, "-c", "read 0 512"], {
    encoding: "utf8",
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const CASES: [string, number, [string, string][]][] = [
  ["default-1m", 1 << 20, []],
  ["default-odd", 1000, []],
  ["empty", 0, []],
  ["aes128-sha1", 65536, [["cipher-alg", "aes-128"], ["hash-alg", "sha1"]]],
  ["sha512", 3 << 20, [["hash-alg", "sha512"]]],
];

describeWithQemu("the model's luks writer and qemu-img create -f luks", () => {
  it.each(CASES)("%s: same layout, length and allocation; QEMU opens it with the passphrase only", async (name, size, options) => {
    const s = spec(`${name}.luks`, size, options);
    const ours = path.join(dir, `model-${name}.luks`);
    writeImage(ours, s);
    // Through the engine's qemu-img runner, which retries qemu-img's CPU-clock fluke (images.ts).
    await createImage({ ...s, path: `qemu-${name}.luks` }, { binary: img, workdir: dir, timeoutMs: 60_000 });
    const theirs = path.join(dir, `qemu-${name}.luks`);
    expect(maskedHeader(ours).equals(maskedHeader(theirs))).toBe(true);
    expect(statSync(ours).size).toBe(statSync(theirs).size);
    expect(statSync(ours).blocks).toBe(statSync(theirs).blocks);
    expect(readFileSync(ours).readUInt32BE(L.keySlots)).toBe(0x00ac71f3);
    const opened = qemuIoRead(ours, "pass,,word").output;
    expect(opened).not.toContain("can't open");
    if (size >= 512) expect(opened).toMatch(/read 512\/512 bytes at offset 0/);
    expect(qemuIoRead(ours, "other").output).toContain("Invalid password, cannot unlock any keyslot");
  });

  it("passes the secret objects to qemu-img, commas doubled", () => {
    expect(qemuImgCreateArgs(spec("a.luks", 512, []))).toEqual([
      "create", "-q", "--object", "secret,id=sec0,data=pass,,word", "-f", "luks", "-o", "key-secret=sec0,iter-time=10", "a.luks", "512",
    ]);
  });
});
