/**
 * Opening a LUKS1 volume as crypto/block-luks.c 7.2 does (`qcrypto_block_luks_open`): the header's
 * sanity checks and name parsing with QEMU's messages, then the passphrase tried on every active
 * key slot. Reads go through the `file` child's data path, as `block_crypto_read_func` does.
 */
import { bdrvPreadv } from "../data/block-io.js";
import { IoError, ModelIoUnsupportedError } from "../data/io-error.js";
import type { BdsNode } from "../graph.js";
import {
  afSplitDecode,
  cryptSectors,
  cString,
  KEY_SLOT_DISABLED,
  KEY_SLOT_ENABLED,
  LUKS_DIGEST_LEN,
  LUKS_HEADER_SIZE,
  LUKS_KEY_SLOT_OFFSET,
  LUKS_MAGIC,
  LUKS_NUM_KEY_SLOTS,
  LUKS_SECTOR_SIZE,
  LUKS_STRIPES,
  LUKS_VERSION,
  type LuksHeader,
  modelCipherName,
  parseLuksHeader,
  pbkdf2,
  splitKeyLenSectors,
} from "../images/luks-format.js";
import { fail } from "../qmp-failure.js";
import type { DriverHost } from "./driver.js";

/** What `qcrypto_block_luks_parse_header` makes of the names, as QAPI enum names. */
export interface LuksAlgorithms {
  cipherAlg: string;
  cipherMode: string;
  ivgenAlg: string;
  /** Only with essiv (its hash), as qcrypto_block_luks_get_info reports it. */
  ivgenHashAlg?: string;
  hashAlg: string;
}

const CIPHER_MODES = ["ecb", "cbc", "xts", "ctr"];
const HASH_ALGS = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512", "ripemd160"];
const IVGEN_ALGS = ["plain", "plain64", "essiv"];
/** qcrypto_block_luks_cipher_name_map: header name → key bytes → QCryptoCipherAlgorithm. */
const CIPHER_NAMES: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  aes: { 16: "aes-128", 24: "aes-192", 32: "aes-256" },
  cast5: { 16: "cast5-128" },
  serpent: { 16: "serpent-128", 24: "serpent-192", 32: "serpent-256" },
  twofish: { 16: "twofish-128", 24: "twofish-192", 32: "twofish-256" },
};
const DIGEST_LEN: Readonly<Record<string, number>> = { md5: 16, sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64, ripemd160: 20 };

/** `block_crypto_read_func`. */
function readFile(host: DriverHost, file: BdsNode, offset: number, bytes: number): Buffer {
  try {
    return bdrvPreadv(host, file, offset, bytes).toBuffer();
  } catch (e) {
    if (e instanceof IoError) fail(`Could not read encryption header: ${e.message}`);
    throw e;
  }
}

/** `qcrypto_block_luks_load_header`. */
export function loadLuksHeader(host: DriverHost, file: BdsNode): LuksHeader {
  return parseLuksHeader(readFile(host, file, 0, LUKS_HEADER_SIZE));
}

/** `qcrypto_block_luks_check_header`. */
export function checkLuksHeader(h: LuksHeader): void {
  const headerSectors = LUKS_KEY_SLOT_OFFSET / LUKS_SECTOR_SIZE;
  if (!h.magic.equals(LUKS_MAGIC)) fail("Volume is not in LUKS format");
  if (h.version !== LUKS_VERSION) fail(`LUKS version ${h.version} is not supported`);
  if (!h.cipherName.includes(0)) fail("LUKS header cipher name is not NUL terminated");
  if (!h.cipherMode.includes(0)) fail("LUKS header cipher mode is not NUL terminated");
  if (!h.hashSpec.includes(0)) fail("LUKS header hash spec is not NUL terminated");
  if (h.payloadOffsetSector < headerSectors) fail("LUKS payload is overlapping with the header");
  if (h.masterKeyIterations === 0) fail("LUKS key iteration count is zero");
  // Lengths in unsigned int arithmetic, as QEMU computes them.
  const len = (stripes: number) => splitKeyLenSectors(h.masterKeyLen, stripes) >>> 0;
  h.keySlots.forEach((s1, i) => {
    const start1 = s1.keyOffsetSector;
    const len1 = len(s1.stripes);
    if (s1.stripes !== LUKS_STRIPES) fail(`Keyslot ${i} is corrupted (stripes ${s1.stripes | 0} != ${LUKS_STRIPES})`);
    if (s1.active !== KEY_SLOT_DISABLED && s1.active !== KEY_SLOT_ENABLED) fail(`Keyslot ${i} state (active/disable) is corrupted`);
    if (s1.active === KEY_SLOT_ENABLED && s1.iterations === 0) fail(`Keyslot ${i} iteration count is zero`);
    if (start1 < headerSectors) fail(`Keyslot ${i} is overlapping with the LUKS header`);
    if (((start1 + len1) >>> 0) > h.payloadOffsetSector) fail(`Keyslot ${i} is overlapping with the encrypted payload`);
    for (let j = i + 1; j < LUKS_NUM_KEY_SLOTS; j++) {
      const s2 = h.keySlots[j]!;
      const start2 = s2.keyOffsetSector;
      const len2 = len(s2.stripes);
      if (((start1 + len1) >>> 0) > start2 && ((start2 + len2) >>> 0) > start1) fail(`Keyslots ${i} and ${j} are overlapping in the header`);
    }
  });
}

function lookup(values: readonly string[], name: string, type: string): string {
  if (!values.includes(name)) fail(`${type} '${name}' not supported`);
  return name;
}

/** `qcrypto_block_luks_parse_header`: `<mode>-<ivgen>[:<ivhash>]`, the cipher by name and key size, the hash. */
export function parseLuksAlgorithms(h: LuksHeader): LuksAlgorithms {
  const modeSpec = cString(h.cipherMode);
  const dash = modeSpec.indexOf("-");
  if (dash < 0) fail(`Unexpected cipher mode string format '${modeSpec}'`);
  const modeName = modeSpec.slice(0, dash);
  let ivgenName = modeSpec.slice(dash + 1);
  let ivhashName: string | undefined;
  const colon = ivgenName.indexOf(":");
  let ivgenHash: string | undefined;
  if (colon >= 0) {
    ivhashName = ivgenName.slice(colon + 1);
    ivgenName = ivgenName.slice(0, colon);
    ivgenHash = lookup(HASH_ALGS, ivhashName, "Hash algorithm");
  }
  const cipherMode = lookup(CIPHER_MODES, modeName, "Cipher mode");
  const keyBytes = cipherMode === "xts" ? Math.floor(h.masterKeyLen / 2) : h.masterKeyLen;
  const name = cString(h.cipherName);
  const cipherAlg = CIPHER_NAMES[name]?.[keyBytes];
  if (cipherAlg === undefined) fail(`Algorithm '${name}' with key size ${keyBytes} bytes not supported`);
  const hashAlg = lookup(HASH_ALGS, cString(h.hashSpec), "Hash algorithm");
  const ivgenAlg = lookup(IVGEN_ALGS, ivgenName, "IV generator");
  if (ivgenAlg !== "essiv") return { cipherAlg, cipherMode, ivgenAlg, hashAlg };
  if (ivhashName === undefined) fail("Missing IV generator hash specification");
  essivCipher(cipherAlg, ivgenHash!);
  return { cipherAlg, cipherMode, ivgenAlg, ivgenHashAlg: ivgenHash, hashAlg };
}

/** `qcrypto_block_luks_essiv_cipher`: only its errors matter to the model. */
function essivCipher(cipherAlg: string, hash: string): void {
  const digestLen = DIGEST_LEN[hash]!;
  const [family, bits] = cipherAlg.split("-") as [string, string];
  if (Number(bits) / 8 === digestLen) return;
  const label: Record<string, string> = { aes: "AES", serpent: "Serpent", twofish: "Twofish" };
  if (label[family] === undefined) fail(`Cipher ${cipherAlg} not supported with essiv`);
  if (![16, 24, 32].includes(digestLen)) fail(`No ${label[family]} cipher with key size ${digestLen} available`);
}

/**
 * `qcrypto_block_luks_find_key`: the first active slot the passphrase unlocks (PBKDF2 of the
 * passphrase, the slot's key material decrypted and merged, its PBKDF2 digest compared with the
 * header's). Ciphers other than AES-XTS with a plain IV are not followed by the model.
 */
export function findLuksKey(host: DriverHost, file: BdsNode, h: LuksHeader, algs: LuksAlgorithms, password: Buffer): { cipher: string; masterKey: Buffer } {
  for (const slot of h.keySlots) {
    if (slot.active !== KEY_SLOT_ENABLED) continue;
    const cipher = modelCipherName(cString(h.cipherName), algs.cipherMode, h.masterKeyLen);
    if (cipher === undefined || algs.ivgenAlg === "essiv") {
      throw new ModelIoUnsupportedError(`unlocking a LUKS key slot with ${algs.cipherAlg}-${algs.cipherMode}-${algs.ivgenAlg}`);
    }
    const possibleKey = pbkdf2(algs.hashAlg, password, slot.salt, slot.iterations, h.masterKeyLen);
    const splitLen = h.masterKeyLen * slot.stripes;
    const material = readFile(host, file, slot.keyOffsetSector * LUKS_SECTOR_SIZE, splitLen);
    const split = cryptSectors(cipher, possibleKey, material, false);
    const masterKey = afSplitDecode(algs.hashAlg, h.masterKeyLen, slot.stripes, split);
    const digest = pbkdf2(algs.hashAlg, masterKey, h.masterKeySalt, h.masterKeyIterations, LUKS_DIGEST_LEN);
    if (digest.equals(h.masterKeyDigest)) return { cipher, masterKey };
  }
  fail("Invalid password, cannot unlock any keyslot");
}
