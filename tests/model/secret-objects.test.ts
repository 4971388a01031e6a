/**
 * Secret objects and the luks driver in the model, against replies recorded from
 * qemu-storage-daemon 7.2.22 (crypto/secret.c, crypto/secret_common.c, block/crypto.c): loading
 * and decoding a secret (glib's base64, AES-256-CBC with a key secret), the lookups luks makes at
 * open, and a data path that says it is not modelled instead of answering.
 */
import { createCipheriv } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { gBase64Decode } from "../../src/engines/model/objects/glib-base64.js";

const ZERO_KEY = Buffer.alloc(32).toString("base64");
const ZERO_IV = Buffer.alloc(16).toString("base64");

describe("secret objects in the model", () => {
  let dir: string;
  let engine: ModelEngine;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "blockcheck-secret-"));
    engine = new ModelEngine();
    await engine.start({ workdir: dir });
  });
  afterEach(async () => {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const add = (id: string, props: Record<string, unknown>) => engine.qmp("object-add", { "qom-type": "secret", id, ...props });
  const err = (desc: string) => ({ error: { class: "GenericError", desc } });

  it("gives QEMU's errors for loading and decoding, and adds nothing that failed", async () => {
    expect(await add("s0", { data: "abc" })).toEqual({ return: {} });
    expect(await add("s2", {})).toEqual(err("Either 'file' or 'data' must be provided"));
    expect(await add("s3", { data: "x", file: "/nonexist" })).toEqual(err("'file' and 'data' are mutually exclusive"));
    expect(await add("s5", { data: "!!", format: "base64" })).toEqual(err("Base64 data contains invalid characters"));
    expect(await add("s8", { data: "abc", keyid: "s0" })).toEqual(err("Key should be 32 bytes in length"));
    expect(await add("s9", { data: "abc", keyid: "nosuch", iv: "x" })).toEqual(err("No secret with id 'nosuch'"));
    expect(await add("s0", { data: "abc" })).toEqual(err("attempt to add duplicate property 's0' to object (type 'container')"));
    expect(await add("1bad", { data: "x" })).toEqual(err("Parameter 'id' expects an identifier"));
    // A failed object is gone: its id can be used again.
    expect(await add("s2", { data: "" })).toEqual({ return: {} });
    expect(await engine.qmp("object-del", { id: "s2" })).toEqual({ return: {} });
    expect(await engine.qmp("object-del", { id: "s2" })).toEqual(err("object 's2' not found"));
  });

  it("decrypts with a key secret as qcrypto_secret_decrypt does", async () => {
    expect(await add("k", { data: ZERO_KEY, format: "base64" })).toEqual({ return: {} });
    expect(await add("a1", { data: "abc", keyid: "k" })).toEqual(err("IV is required to decrypt secret"));
    expect(await add("a2", { data: "abc", keyid: "k", iv: "!" })).toEqual(err("Base64 data contains invalid characters"));
    expect(await add("a3", { data: "abc", keyid: "k", iv: "YWJj" })).toEqual(err("IV should be 16 bytes in length not 3"));
    expect(await add("a4", { data: "abc", keyid: "k", iv: ZERO_KEY })).toEqual(err("IV should be 16 bytes in length not 32"));
    expect(await add("a5", { data: "abc", keyid: "k", iv: ZERO_IV })).toEqual(err("Length 3 must be a multiple of block size 16"));
    expect(await add("a6", { data: "abcdefghijklmnop", keyid: "k", iv: ZERO_IV })).toEqual(err("Incorrect number of padding bytes (55) found on decrypted data"));
    // glib drops a partial group: "abc" decodes to nothing, and QEMU 7.2 accepts the empty text.
    expect(await add("a7", { data: "abc", keyid: "k", iv: ZERO_IV, format: "base64" })).toEqual({ return: {} });
    const c = createCipheriv("aes-256-cbc", Buffer.alloc(32), Buffer.alloc(16));
    const sealed = Buffer.concat([c.update("hunter2"), c.final()]).toString("base64");
    expect(await add("a8", { data: sealed, keyid: "k", iv: ZERO_IV, format: "base64" })).toEqual({ return: {} });
  });

  it("is looked up by luks at open: a missing secret, another kind of object", async () => {
    await engine.createImage({ path: "plain.raw", format: "raw", size: 1 << 20 });
    expect(await engine.qmp("object-add", { "qom-type": "iothread", id: "io0" })).toEqual({ return: {} });
    const luks = (secret?: string) =>
      engine.qmp("blockdev-add", { driver: "luks", "node-name": "l0", file: { driver: "file", filename: "plain.raw" }, ...(secret ? { "key-secret": secret } : {}) });
    expect(await luks()).toEqual(err("Parameter 'key-secret' is required for cipher"));
    expect(await luks("nosuch")).toEqual(err("No secret with id 'nosuch'"));
    expect(await luks("io0")).toEqual(err("Object with id 'io0' is not a secret"));
    expect(await add("s0", { data: "abc" })).toEqual({ return: {} });
    expect(await luks("s0")).toEqual(err("Volume is not in LUKS format"));
  });

  it("opens a luks image with its passphrase and leaves reads of sectors nothing wrote to QEMU", async () => {
    expect(await add("s0", { data: "hunter2" })).toEqual({ return: {} });
    expect(await add("s1", { data: "hunter3" })).toEqual({ return: {} });
    const secrets = [{ id: "s0", props: { data: "hunter2" } }];
    await engine.createImage({ path: "a.luks", format: "luks", size: 1 << 20, createOptions: [["key-secret", "s0"], ["iter-time", "10"]], secrets });
    const open = (secret: string) => engine.qmp("blockdev-add", { driver: "luks", "node-name": "l0", "key-secret": secret, file: { driver: "file", filename: "a.luks" } });
    expect(await open("s1")).toEqual(err("Invalid password, cannot unlock any keyslot"));
    expect(await open("s0")).toEqual({ return: {} });
    await expect(engine.io("l0", "read 0 512")).rejects.toThrow(/does not model reads of a LUKS sector nothing wrote/);
  });
});

describe("glib's base64 decoding", () => {
  it("drops a trailing partial group and the bytes of '=' padding", () => {
    expect(gBase64Decode("YWJj").toString()).toBe("abc");
    expect(gBase64Decode("YWJ").toString()).toBe("");
    expect(gBase64Decode("YWI=").toString()).toBe("ab");
    expect(gBase64Decode("YQ==").toString()).toBe("a");
    expect(gBase64Decode("YW\nJj").toString()).toBe("abc");
  });
});
