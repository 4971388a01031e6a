/**
 * A fresh LUKS1 image as `qemu-img create -f luks` 7.2 writes it (block/crypto.c
 * `block_crypto_co_create_opts_luks` → crypto/block-luks.c `qcrypto_block_luks_create`): the file
 * is grown to the payload offset plus the size, slot 0's encrypted, split master key is written,
 * then the header. Layout, sizes, names and allocation are qemu-img's; what qemu-img draws at random
 * (master key, salts, UUID, the splitter's stripes) comes from a stream seeded by the spec, and the
 * iteration counts, which qemu-img times on the host CPU, come from a fixed nominal PBKDF2 speed.
 */
import { createCipheriv, createHash } from "node:crypto";
import type { ImageSpec } from "../../engine.js";
import { SecretObjects, type SecretProps } from "../objects/secret-objects.js";
import { QmpFailure } from "../qmp-failure.js";
import { ImageSpecError } from "./image-errors.js";
import type { ImageLayout } from "./image-layout.js";
import {
  afSplitEncode,
  cryptSectors,
  HASH_DIGEST_LEN,
  KEY_SLOT_DISABLED,
  KEY_SLOT_ENABLED,
  LUKS_DIGEST_LEN,
  LUKS_KEY_SLOT_OFFSET,
  LUKS_MAGIC,
  LUKS_NUM_KEY_SLOTS,
  LUKS_SALT_LEN,
  LUKS_SECTOR_SIZE,
  LUKS_STRIPES,
  LUKS_UUID_LEN,
  LUKS_VERSION,
  type LuksHeader,
  nameField,
  pbkdf2,
  serializeLuksHeader,
  splitKeyLenSectors,
} from "./luks-format.js";

/** QCRYPTO_BLOCK_LUKS_DEFAULT_ITER_TIME_MS. */
const DEFAULT_ITER_TIME_MS = 2000;
/** QCRYPTO_BLOCK_LUKS_MIN_SLOT_KEY_ITERS and _MIN_MASTER_KEY_ITERS. */
const MIN_ITERS = 1000;
/**
 * The model's stand-in for `qcrypto_pbkdf2_count_iters`: PBKDF2 iterations per second for one
 * digest-sized block of output (QEMU measures this; a host of 2022 does a few million with SHA-256).
 */
const PBKDF2_BLOCK_ITERS_PER_SECOND = 4_000_000;
const UINT32_MAX = 2 ** 32 - 1;

/** The cipher-alg values the model writes: AES in XTS mode, whose key is twice the AES key. */
const CIPHERS: Readonly<Record<string, { name: string; keyLen: number }>> = {
  "aes-128": { name: "aes", keyLen: 16 },
  "aes-256": { name: "aes", keyLen: 32 },
};
/** The hash-alg values the model writes (node:crypto has them all). */
const HASHES = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

/** `size` is not used: unlike the other formats, luks takes the size unrounded (the payload may end mid-sector). */
export function luksImage(spec: ImageSpec, _size: number): ImageLayout {
  const size = spec.size;
  if (spec.backingFile !== undefined) throw new ImageSpecError("Backing file not supported for file format 'luks'");
  if (spec.dataFile !== undefined) throw new ImageSpecError("Invalid parameter 'data_file'");
  const opts = new Map(spec.createOptions ?? []);
  const cipherAlg = opts.get("cipher-alg") ?? "aes-256";
  const hash = opts.get("hash-alg") ?? "sha256";
  const iterTime = iterTimeOption(opts.get("iter-time"));
  const cipher = CIPHERS[cipherAlg];
  if (!cipher) throw new ImageSpecError(`the model does not create luks images with cipher-alg '${cipherAlg}'`);
  if (!HASHES.includes(hash)) throw new ImageSpecError(`the model does not create luks images with hash-alg '${hash}'`);
  const keySecret = opts.get("key-secret");
  // qcrypto_block_luks_create refuses this (and what follows) once the file is created, but
  // block_crypto_co_create_opts_luks then deletes the file: no file is left, as when nothing began.
  if (keySecret === undefined) throw new ImageSpecError("Parameter 'key-secret' is required for cipher");
  const password = Buffer.from(lookupPassword(spec, keySecret), "utf8");

  const random = randomStream(spec, size);
  const uuid = random(16);
  // qemu_uuid_generate: a version 4, RFC 4122 variant UUID.
  uuid[6] = (uuid[6]! & 0x0f) | 0x40;
  uuid[8] = (uuid[8]! & 0x3f) | 0x80;
  const masterKeyLen = cipher.keyLen * 2;
  const masterKeySalt = random(LUKS_SALT_LEN);
  const masterKey = random(masterKeyLen);

  // Master key digest: a digest-long PBKDF2, an eighth of the time (as cryptsetup does).
  const masterKeyIterations = Math.max(scaledIters(hash, LUKS_DIGEST_LEN, iterTime, 8), MIN_ITERS);
  const headerSectors = LUKS_KEY_SLOT_OFFSET / LUKS_SECTOR_SIZE;
  const splitSectors = splitKeyLenSectors(masterKeyLen, LUKS_STRIPES);
  const header: LuksHeader = {
    magic: LUKS_MAGIC,
    version: LUKS_VERSION,
    cipherName: nameField(cipher.name),
    cipherMode: nameField("xts-plain64"),
    hashSpec: nameField(hash),
    payloadOffsetSector: headerSectors + LUKS_NUM_KEY_SLOTS * splitSectors,
    masterKeyLen,
    masterKeyDigest: pbkdf2(hash, masterKey, masterKeySalt, masterKeyIterations, LUKS_DIGEST_LEN),
    masterKeySalt,
    masterKeyIterations,
    uuid: uuidField(uuid),
    keySlots: Array.from({ length: LUKS_NUM_KEY_SLOTS }, (_, i) => ({
      active: KEY_SLOT_DISABLED,
      iterations: 0,
      salt: Buffer.alloc(LUKS_SALT_LEN),
      keyOffsetSector: headerSectors + i * splitSectors,
      stripes: LUKS_STRIPES,
    })),
  };

  // qcrypto_block_luks_store_key(slot 0).
  const slot = header.keySlots[0]!;
  slot.salt = random(LUKS_SALT_LEN);
  slot.iterations = Math.max(scaledIters(hash, masterKeyLen, iterTime, 1), MIN_ITERS);
  const slotKey = pbkdf2(hash, password, slot.salt, slot.iterations, masterKeyLen);
  const split = afSplitEncode(hash, masterKey, LUKS_STRIPES, random);
  const material = cryptSectors(`aes-${cipher.keyLen * 8}-xts`, slotKey, split, true);
  slot.active = KEY_SLOT_ENABLED;

  const payloadOffset = header.payloadOffsetSector * LUKS_SECTOR_SIZE;
  return {
    chunks: [
      { offset: slot.keyOffsetSector * LUKS_SECTOR_SIZE, bytes: material },
      { offset: 0, bytes: serializeLuksHeader(header) },
    ],
    length: payloadOffset + size,
  };
}

/** `iter-time` (milliseconds, a QEMU_OPT_NUMBER). */
function iterTimeOption(value: string | undefined): number {
  if (value === undefined) return DEFAULT_ITER_TIME_MS;
  if (!/^\d+$/.test(value)) throw new ImageSpecError(`Parameter 'iter-time' expects a number`);
  return Number(value);
}

/** `count_iters * iter_time / 1000 / divisor`, as QEMU scales its measurement; the range checks are QEMU's. */
function scaledIters(hash: string, outLen: number, iterTime: number, divisor: number): number {
  const perSecond = Math.floor(PBKDF2_BLOCK_ITERS_PER_SECOND / Math.ceil(outLen / HASH_DIGEST_LEN[hash]!));
  const iters = Math.floor(Math.floor((perSecond * iterTime) / 1000) / divisor);
  if (iters > UINT32_MAX) throw new ImageSpecError(`PBKDF iterations ${iters} larger than ${UINT32_MAX}: Numerical result out of range`);
  return iters;
}

/** The passphrase: the named secret, completed as object-add completes it, read as UTF-8. */
function lookupPassword(spec: ImageSpec, id: string): string {
  const secrets = new SecretObjects();
  try {
    for (const s of spec.secrets ?? []) {
      if (!secrets.has(s.id)) secrets.complete(s.id, s.props as SecretProps, (x) => secrets.has(x));
    }
    return secrets.lookupUtf8(id, () => false);
  } catch (e) {
    if (e instanceof QmpFailure) throw new ImageSpecError(e.message);
    throw e;
  }
}

/** qemu_uuid_unparse: 36 lowercase characters, NUL-padded to the field. */
function uuidField(b: Buffer): Buffer {
  const hex = b.toString("hex");
  const text = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  const field = Buffer.alloc(LUKS_UUID_LEN);
  field.write(text, "latin1");
  return field;
}

/** A deterministic stand-in for qcrypto_random_bytes: AES-CTR over zeros, keyed by the spec. */
function randomStream(spec: ImageSpec, size: number): (n: number) => Buffer {
  const seed = createHash("sha256").update(JSON.stringify({ ...spec, size })).digest();
  const ctr = createCipheriv("aes-256-ctr", seed, Buffer.alloc(16));
  return (n) => ctr.update(Buffer.alloc(n));
}
