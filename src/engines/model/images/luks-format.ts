/**
 * The LUKS1 on-disk format as crypto/block-luks.c 7.2 reads and writes it: the 592-byte header
 * (big-endian), eight key slots, and the pieces that turn a passphrase into the master key — PBKDF2,
 * the anti-forensic splitter (crypto/afsplit.c) and the sector-wise cipher of the key material.
 * Shared by the image writer (luks-create.ts) and the driver (drivers/luks.ts).
 */
import { createCipheriv, createDecipheriv, createHash, pbkdf2Sync } from "node:crypto";

export const LUKS_MAGIC = Buffer.from([0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe]);
export const LUKS_VERSION = 1;
export const LUKS_HEADER_SIZE = 592;
export const LUKS_NUM_KEY_SLOTS = 8;
export const LUKS_STRIPES = 4000;
export const LUKS_SECTOR_SIZE = 512;
/** QCRYPTO_BLOCK_LUKS_KEY_SLOT_OFFSET: the key material starts after the first 4 KiB. */
export const LUKS_KEY_SLOT_OFFSET = 4096;
export const LUKS_DIGEST_LEN = 20;
export const LUKS_SALT_LEN = 32;
export const LUKS_UUID_LEN = 40;
export const KEY_SLOT_DISABLED = 0x0000dead;
export const KEY_SLOT_ENABLED = 0x00ac71f3;

/** Byte offsets in QCryptoBlockLUKSHeader. */
export const L = {
  magic: 0,
  version: 6,
  cipherName: 8,
  cipherMode: 40,
  hashSpec: 72,
  payloadOffset: 104,
  masterKeyLen: 108,
  masterKeyDigest: 112,
  masterKeySalt: 132,
  masterKeyIterations: 164,
  uuid: 168,
  keySlots: 208,
  /** Size of one QCryptoBlockLUKSKeySlot; its fields: active, iterations, salt, key_offset_sector, stripes. */
  slotSize: 48,
} as const;

export interface LuksKeySlot {
  active: number;
  iterations: number;
  salt: Buffer;
  keyOffsetSector: number;
  stripes: number;
}

/** QCryptoBlockLUKSHeader in native form; the three names are the raw 32-byte fields. */
export interface LuksHeader {
  magic: Buffer;
  version: number;
  cipherName: Buffer;
  cipherMode: Buffer;
  hashSpec: Buffer;
  payloadOffsetSector: number;
  masterKeyLen: number;
  masterKeyDigest: Buffer;
  masterKeySalt: Buffer;
  masterKeyIterations: number;
  uuid: Buffer;
  keySlots: LuksKeySlot[];
}

/** `qcrypto_block_luks_from_disk_endian` over the first 592 bytes. */
export function parseLuksHeader(buf: Buffer): LuksHeader {
  const keySlots: LuksKeySlot[] = [];
  for (let i = 0; i < LUKS_NUM_KEY_SLOTS; i++) {
    const o = L.keySlots + i * L.slotSize;
    keySlots.push({
      active: buf.readUInt32BE(o),
      iterations: buf.readUInt32BE(o + 4),
      salt: Buffer.from(buf.subarray(o + 8, o + 8 + LUKS_SALT_LEN)),
      keyOffsetSector: buf.readUInt32BE(o + 40),
      stripes: buf.readUInt32BE(o + 44),
    });
  }
  return {
    magic: Buffer.from(buf.subarray(0, 6)),
    version: buf.readUInt16BE(L.version),
    cipherName: Buffer.from(buf.subarray(L.cipherName, L.cipherName + 32)),
    cipherMode: Buffer.from(buf.subarray(L.cipherMode, L.cipherMode + 32)),
    hashSpec: Buffer.from(buf.subarray(L.hashSpec, L.hashSpec + 32)),
    payloadOffsetSector: buf.readUInt32BE(L.payloadOffset),
    masterKeyLen: buf.readUInt32BE(L.masterKeyLen),
    masterKeyDigest: Buffer.from(buf.subarray(L.masterKeyDigest, L.masterKeyDigest + LUKS_DIGEST_LEN)),
    masterKeySalt: Buffer.from(buf.subarray(L.masterKeySalt, L.masterKeySalt + LUKS_SALT_LEN)),
    masterKeyIterations: buf.readUInt32BE(L.masterKeyIterations),
    uuid: Buffer.from(buf.subarray(L.uuid, L.uuid + LUKS_UUID_LEN)),
    keySlots,
  };
}

/** `qcrypto_block_luks_to_disk_endian` of a header (`qcrypto_block_luks_store_header`'s bytes). */
export function serializeLuksHeader(h: LuksHeader): Buffer {
  const buf = Buffer.alloc(LUKS_HEADER_SIZE);
  h.magic.copy(buf, L.magic);
  buf.writeUInt16BE(h.version, L.version);
  h.cipherName.copy(buf, L.cipherName);
  h.cipherMode.copy(buf, L.cipherMode);
  h.hashSpec.copy(buf, L.hashSpec);
  buf.writeUInt32BE(h.payloadOffsetSector, L.payloadOffset);
  buf.writeUInt32BE(h.masterKeyLen, L.masterKeyLen);
  h.masterKeyDigest.copy(buf, L.masterKeyDigest);
  h.masterKeySalt.copy(buf, L.masterKeySalt);
  buf.writeUInt32BE(h.masterKeyIterations, L.masterKeyIterations);
  h.uuid.copy(buf, L.uuid);
  h.keySlots.forEach((s, i) => {
    const o = L.keySlots + i * L.slotSize;
    buf.writeUInt32BE(s.active, o);
    buf.writeUInt32BE(s.iterations, o + 4);
    s.salt.copy(buf, o + 8);
    buf.writeUInt32BE(s.keyOffsetSector, o + 40);
    buf.writeUInt32BE(s.stripes, o + 44);
  });
  return buf;
}

/** A fixed-size header name field as C reads it: up to its first NUL. */
export function cString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString("latin1");
}

/** A name as a zero-padded 32-byte field (strcpy into the zeroed header). */
export function nameField(name: string): Buffer {
  const b = Buffer.alloc(32);
  b.write(name, "latin1");
  return b;
}

/**
 * `qcrypto_block_luks_splitkeylen_sectors`: key material sectors, rounded up to the header's 8
 * sectors. The product is unsigned int arithmetic in QEMU, so a corrupt header's wraps at 2^32.
 */
export function splitKeyLenSectors(masterKeyLen: number, stripes: number): number {
  const headerSectors = LUKS_KEY_SLOT_OFFSET / LUKS_SECTOR_SIZE;
  const splitKeyLen = Number((BigInt(masterKeyLen) * BigInt(stripes)) & 0xffffffffn);
  const sectors = Math.ceil(splitKeyLen / LUKS_SECTOR_SIZE);
  return Math.ceil(sectors / headerSectors) * headerSectors;
}

/** QCryptoHashAlgorithm digest lengths, by QAPI name. */
export const HASH_DIGEST_LEN: Readonly<Record<string, number>> = {
  md5: 16,
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
  ripemd160: 20,
};

/** `qcrypto_pbkdf2`. */
export function pbkdf2(hash: string, password: Buffer, salt: Buffer, iterations: number, length: number): Buffer {
  return pbkdf2Sync(password, salt, iterations, length, hash);
}

/** `qcrypto_afsplit_hash`: each digest-sized piece of `block` replaced by H(be32(i) ‖ piece), truncated. */
function afHash(hash: string, block: Buffer): void {
  const digestLen = HASH_DIGEST_LEN[hash]!;
  const count = Math.ceil(block.length / digestLen);
  for (let i = 0; i < count; i++) {
    const start = i * digestLen;
    const len = Math.min(digestLen, block.length - start);
    const iv = Buffer.alloc(4);
    iv.writeUInt32BE(i);
    createHash(hash).update(iv).update(block.subarray(start, start + len)).digest().copy(block, start, 0, len);
  }
}

function xorInto(target: Buffer, a: Buffer, b: Buffer): void {
  for (let i = 0; i < target.length; i++) target[i] = a[i]! ^ b[i]!;
}

/** `qcrypto_afsplit_encode`: `random` supplies the stripes-1 random blocks. */
export function afSplitEncode(hash: string, key: Buffer, stripes: number, random: (n: number) => Buffer): Buffer {
  const n = key.length;
  const out = Buffer.alloc(n * stripes);
  const block = Buffer.alloc(n);
  for (let i = 0; i < stripes - 1; i++) {
    const r = random(n);
    r.copy(out, i * n);
    xorInto(block, r, block);
    afHash(hash, block);
  }
  xorInto(out.subarray((stripes - 1) * n), key, block);
  return out;
}

/** `qcrypto_afsplit_decode`. */
export function afSplitDecode(hash: string, blockLen: number, stripes: number, split: Buffer): Buffer {
  const block = Buffer.alloc(blockLen);
  for (let i = 0; i < stripes - 1; i++) {
    xorInto(block, split.subarray(i * blockLen, (i + 1) * blockLen), block);
    afHash(hash, block);
  }
  const out = Buffer.alloc(blockLen);
  xorInto(out, split.subarray((stripes - 1) * blockLen), block);
  return out;
}

/**
 * The ciphers the model runs for key material: AES in XTS mode with the plain/plain64 IV
 * generators (the sector number, little-endian, zero-padded to 16 bytes). Others are named by
 * QEMU but not followed by the model.
 */
export function modelCipherName(cipherName: string, cipherMode: string, keyLen: number): string | undefined {
  if (cipherName !== "aes" || cipherMode !== "xts") return undefined;
  if (keyLen === 32) return "aes-128-xts";
  if (keyLen === 64) return "aes-256-xts";
  return undefined;
}

/**
 * `qcrypto_block_cipher_{en,de}crypt_helper` from sector `first`: each 512-byte sector on its own,
 * with the IV of its number (plain64; plain is its low 32 bits, the same below 2^32 sectors).
 */
export function cryptSectors(cipher: string, key: Buffer, data: Buffer, encrypt: boolean, first = 0): Buffer {
  const out = Buffer.alloc(data.length);
  for (let off = 0, sector = first; off < data.length; off += LUKS_SECTOR_SIZE, sector++) {
    const iv = Buffer.alloc(16);
    iv.writeBigUInt64LE(BigInt(sector));
    const c = encrypt ? createCipheriv(cipher, key, iv) : createDecipheriv(cipher, key, iv);
    const piece = data.subarray(off, Math.min(off + LUKS_SECTOR_SIZE, data.length));
    Buffer.concat([c.update(piece), c.final()]).copy(out, off);
  }
  return out;
}
