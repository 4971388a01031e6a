/**
 * `secret` objects (crypto/secret.c, crypto/secret_common.c): object-add qom-type=secret holds a
 * passphrase or key that block drivers look up by id (luks' `key-secret`). The data is loaded and
 * decoded once, when the object is completed; lookups only read it.
 */
import { createDecipheriv } from "node:crypto";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { fail } from "../qmp-failure.js";
import { qbase64Decode } from "./glib-base64.js";

/** SecretProperties as object-add passes them (the QAPI visitor has checked their types). */
export interface SecretProps {
  data?: string;
  file?: string;
  format?: string;
  keyid?: string;
  iv?: string;
}

/** The secret objects of one process, by id, with their loaded bytes (secret->rawdata). */
export class SecretObjects {
  readonly #data = new Map<string, Buffer>();
  /** The string properties as last set (object-add, then qom-set): setting one loads nothing again. */
  readonly #props = new Map<string, SecretProps>();

  has(id: string): boolean {
    return this.#data.has(id);
  }

  delete(id: string): void {
    this.#data.delete(id);
    this.#props.delete(id);
  }

  /** The getter of `data`, `file`, `keyid`, `iv` (a NULL string reads as "") or `format` (raw by default). */
  property(id: string, name: keyof SecretProps): string {
    const value = this.#props.get(id)![name];
    return value ?? (name === "format" ? "raw" : "");
  }

  /** The setter of one of those: it only stores the value (qcrypto_secret_prop_set_data and the rest). */
  setProperty(id: string, name: keyof SecretProps, value: string): void {
    this.#props.get(id)![name] = value;
  }

  /**
   * `qcrypto_secret_complete` for a secret already added under `id` (user_creatable_add_type adds
   * the child before completing it, and removes it again when completion fails). `isObject` says
   * whether an id names any object, for `keyid`. Throws QmpFailure.
   */
  complete(id: string, props: SecretProps, isObject: (id: string) => boolean): void {
    const input = loadData(props);
    let raw: Buffer;
    if (props.keyid !== undefined) raw = this.#decrypt(props, input, isObject);
    else raw = props.format === "base64" ? qbase64Decode(input.toString("latin1")) : input;
    this.#data.set(id, raw);
    this.#props.set(id, { ...props });
  }

  /**
   * `qcrypto_secret_lookup`: the secret's bytes. `isObject` tells an id of another kind of object
   * ("is not a secret") from one that names nothing. Throws QmpFailure.
   */
  lookup(id: string, isObject: (id: string) => boolean): Buffer {
    const data = this.#data.get(id);
    if (data !== undefined) return data;
    if (isObject(id)) fail(`Object with id '${id}' is not a secret`);
    return fail(`No secret with id '${id}'`);
  }

  /** `qcrypto_secret_lookup_as_utf8`. Throws QmpFailure. */
  lookupUtf8(id: string, isObject: (id: string) => boolean): string {
    const data = this.lookup(id, isObject);
    const text = data.toString("utf8");
    // g_utf8_validate with a length: a NUL byte is invalid too.
    if (data.includes(0) || !Buffer.from(text, "utf8").equals(data)) fail(`Data from secret ${id} is not valid UTF-8`);
    return text;
  }

  /** `qcrypto_secret_decrypt`: AES-256-CBC with the key secret `keyid` and the base64 `iv`. */
  #decrypt(props: SecretProps, input: Buffer, isObject: (id: string) => boolean): Buffer {
    const key = this.lookup(props.keyid!, isObject);
    if (key.length !== 32) fail("Key should be 32 bytes in length");
    if (props.iv === undefined) fail("IV is required to decrypt secret");
    const iv = qbase64Decode(props.iv);
    if (iv.length !== 16) fail(`IV should be 16 bytes in length not ${iv.length}`);
    const ciphertext = props.format === "base64" ? qbase64Decode(input.toString("latin1")) : input;
    if (ciphertext.length % 16 !== 0) fail(`Length ${ciphertext.length} must be a multiple of block size 16`);
    // QEMU 7.2 reads the byte before its buffer for empty data (plaintext[-1]) and, as observed,
    // accepts it; the model takes the empty secret.
    if (ciphertext.length === 0) return Buffer.alloc(0);
    const d = createDecipheriv("aes-256-cbc", key, iv);
    d.setAutoPadding(false);
    const plain = Buffer.concat([d.update(ciphertext), d.final()]);
    const pad = plain[plain.length - 1]!;
    if (pad > 16 || pad > plain.length) fail(`Incorrect number of padding bytes (${pad}) found on decrypted data`);
    return plain.subarray(0, plain.length - pad);
  }
}

/** `qcrypto_secret_load_data`: exactly one of `data` and `file`. */
function loadData(props: SecretProps): Buffer {
  if (props.file !== undefined) {
    if (props.data !== undefined) fail("'file' and 'data' are mutually exclusive");
    // Reading a host file that no node opens is outside what the model's file store follows.
    throw new ModelUnsupportedError("secret objects read from a file");
  }
  if (props.data !== undefined) return Buffer.from(props.data, "utf8");
  return fail("Either 'file' or 'data' must be provided");
}
