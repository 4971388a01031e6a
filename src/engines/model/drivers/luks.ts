/**
 * `luks` (block/crypto.c): a LUKS1 volume on its `file` child. Opening needs the `key-secret`
 * passphrase (checked against the key slots); the guest sees the file past the payload offset,
 * each 512-byte sector encrypted with the master key and the IV of its guest sector number. The
 * model's images have a master key of their own, so a sector nothing wrote (zeros on disk, which
 * decrypt to bytes that follow the key) is not read by the model.
 */
import { BLK_PERM_RESIZE, BLK_PERM_WRITE } from "../perms.js";
import { defaultPerms } from "../child-perms.js";
import { bdrvPreadv, bdrvPwritev } from "../data/block-io.js";
import { Data } from "../data/data.js";
import { ModelIoUnsupportedError } from "../data/io-error.js";
import { bdrvTruncate } from "../data/truncate.js";
import { type BdsNode, childNamed } from "../graph.js";
import { cryptSectors, cString, KEY_SLOT_ENABLED, LUKS_MAGIC, LUKS_SECTOR_SIZE, LUKS_VERSION, type LuksHeader } from "../images/luks-format.js";
import { nodeLength } from "../node-length.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { OpaqueSlot } from "../opaque.js";
import { fail } from "../qmp-failure.js";
import { bdrvGetInfo } from "../query/named-nodes.js";
import { BDRV_CHILD_IMAGE } from "../roles.js";
import type { DriverDef } from "./driver.js";
import { checkLuksHeader, findLuksKey, loadLuksHeader, type LuksAlgorithms, parseLuksAlgorithms } from "./luks-header.js";

/** BlockCrypto with its QCryptoBlockLUKS: the header and what was parsed from it. */
interface LuksState {
  header: LuksHeader;
  algs: LuksAlgorithms;
  /** block->payload_offset in bytes. */
  payloadOffset: number;
  /** The cipher, as node:crypto names it, and the master key the passphrase unlocked. */
  cipher: string;
  masterKey: Buffer;
}

const slot = new OpaqueSlot<LuksState>("luks");

function file(node: BdsNode): BdsNode {
  return childNamed(node, "file")!.bs;
}

export const luksDriver: DriverDef = {
  name: "luks",
  fua: { write: "file" },
  protocol: false,
  isFilter: false,
  supportsBacking: false,
  mutableOpts: [],
  strongOpts: ["key-secret"],

  /** `block_crypto_amend_prepare` takes the keys of the keyslots to change, which the model does not. */
  amendPreRun() {
    throw new ModelUnsupportedError("x-blockdev-amend of a luks node (its keyslots)");
  },
  amend() {
    throw new ModelUnsupportedError("x-blockdev-amend of a luks node (its keyslots)");
  },

  /** `block_crypto_probe_luks` → `qcrypto_block_luks_has_format`: the magic and version 1. */
  probe: (buf) => (buf.subarray(0, 6).equals(LUKS_MAGIC) && buf.readUInt16BE(6) === LUKS_VERSION ? 100 : 0),

  /** `block_crypto_open_generic` → `qcrypto_block_open` → `qcrypto_block_luks_open`. */
  open(ctx) {
    const child = ctx.openChild("file", BDRV_CHILD_IMAGE, false)!;
    const secretId = ctx.options["key-secret"];
    if (typeof secretId !== "string") fail("Parameter 'key-secret' is required for cipher");
    const password = Buffer.from(ctx.host.secrets.lookupUtf8(secretId, (id) => ctx.host.objectExists(id)), "utf8");
    const header = loadLuksHeader(ctx.host, child.bs);
    checkLuksHeader(header);
    const algs = parseLuksAlgorithms(header);
    const { cipher, masterKey } = findLuksKey(ctx.host, child.bs, header, algs, password);
    const payloadOffset = header.payloadOffsetSector * LUKS_SECTOR_SIZE;
    slot.set(ctx.node, { header, algs, payloadOffset, cipher, masterKey });
    ctx.node.encrypted = true;
    // block_crypto_refresh_limits: no sub-sector I/O.
    ctx.node.alignment = LUKS_SECTOR_SIZE;
    // bdrv_open_driver → refresh_total_sectors → block_crypto_getlength.
    const length = nodeLength(child.bs);
    if (payloadOffset > length) fail("Could not refresh total sector count: Input/output error");
    ctx.node.size = Math.ceil((length - payloadOffset) / 512) * 512;
  },

  /**
   * `block_crypto_child_perms`: the default rule, but write and resize of the file only when the
   * parents ask for them, and shared as far as the parents share them.
   */
  childPerm({ child, P, S, writable }) {
    const [perm, shared] = defaultPerms(child.role, P, S, writable);
    const both = BLK_PERM_WRITE | BLK_PERM_RESIZE;
    return [(perm & ~both) | (P & both), shared | (S & both)];
  },

  /** `block_crypto_reopen_prepare`: nothing needs checking (key-secret may not change: generic rule). */
  reopenPrepare() {},

  /** `block_crypto_co_truncate`: the file grows by the payload offset too. */
  truncate(host, node, offset, exact, prealloc) {
    const { payloadOffset } = slot.get(node);
    bdrvTruncate(host, file(node), offset + payloadOffset, exact, prealloc, 0);
    node.size = Math.max(0, nodeLength(file(node)) - payloadOffset);
  },

  /** `block_crypto_get_info_luks`: the file's cluster size, when the file has info at all. */
  getInfo(node) {
    const sub = bdrvGetInfo(file(node));
    return sub ? { info: { clusterSize: sub.clusterSize, isDirty: false } } : { notSupported: true };
  },

  /** `block_crypto_get_specific_info_luks` → `qcrypto_block_luks_get_info`: QCryptoBlockInfoLUKS in QAPI member order. */
  getSpecificInfo(node) {
    const { header, algs, payloadOffset } = slot.get(node);
    const data: Record<string, unknown> = { "cipher-alg": algs.cipherAlg, "cipher-mode": algs.cipherMode, "ivgen-alg": algs.ivgenAlg };
    if (algs.ivgenHashAlg !== undefined) data["ivgen-hash-alg"] = algs.ivgenHashAlg;
    data["hash-alg"] = algs.hashAlg;
    data["payload-offset"] = payloadOffset;
    data["master-key-iters"] = header.masterKeyIterations;
    data["uuid"] = cString(header.uuid);
    data["slots"] = header.keySlots.map((s) => {
      const active = s.active === KEY_SLOT_ENABLED;
      const info: Record<string, unknown> = { active };
      if (active) Object.assign(info, { iters: s.iterations, stripes: s.stripes });
      info["key-offset"] = s.keyOffsetSector * LUKS_SECTOR_SIZE;
      return info;
    });
    return { type: "luks", data };
  },

  /** `block_crypto_co_preadv`: the file's sectors past the payload offset, decrypted. */
  preadv(host, node, offset, bytes) {
    const { payloadOffset, cipher, masterKey } = slot.get(node);
    const sealed = bdrvPreadv(host, file(node), payloadOffset + offset, bytes).toBuffer();
    for (let off = 0; off < sealed.length; off += LUKS_SECTOR_SIZE) {
      if (sealed.subarray(off, off + LUKS_SECTOR_SIZE).every((b) => b === 0)) {
        throw new ModelIoUnsupportedError("reads of a LUKS sector nothing wrote (QEMU decrypts its zeros with a random master key)");
      }
    }
    return Data.bytes(cryptSectors(cipher, masterKey, sealed, false, offset / LUKS_SECTOR_SIZE));
  },

  /** `block_crypto_co_pwritev`: encrypted, then written past the payload offset. Zero writes come as zeroed buffers. */
  pwritev(host, node, offset, data, flags) {
    const { payloadOffset, cipher, masterKey } = slot.get(node);
    const sealed = cryptSectors(cipher, masterKey, data.toBuffer(), true, offset / LUKS_SECTOR_SIZE);
    bdrvPwritev(host, file(node), payloadOffset + offset, Data.bytes(sealed), flags);
  },

  /** Byte 0 of the node is the payload's, which QEMU decrypts and the model does not follow there. */
  readAtZero: () => ({ unsupported: "reads of a LUKS payload (decryption)" }),
};
