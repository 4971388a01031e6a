/**
 * A qcow2 image described without its cluster placement: header fields, then for every guest
 * cluster what the L2 table says (unallocated, zero, data with its bytes, compressed with its bytes),
 * then the file length. Two files with the same description hold the same guest data and allocate
 * as much, even if their clusters sit in other places.
 *
 * It is what the differential compares for qcow2 files a mirror-based job (blockdev-mirror, active
 * commit) copied data into: mirror_iteration issues several reads at once, and the order in which
 * the thread pool completes them (and so the order the target allocates clusters in) varies from
 * run to run on QEMU itself.
 */
import { createHash } from "node:crypto";

const QCOW2_MAGIC = 0x514649fb;
const OFFSET_MASK = 0x00fffffffffffe00n;
const COMPRESSED = 1n << 62n;
const ZERO = 1n;

function hash(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex").slice(0, 16);
}

/** The description, or undefined when `bytes` is not a qcow2 image this reader understands. */
export function qcow2Content(bytes: Buffer): string[] | undefined {
  if (bytes.length < 104 || bytes.readUInt32BE(0) !== QCOW2_MAGIC) return undefined;
  const version = bytes.readUInt32BE(4);
  const clusterBits = bytes.readUInt32BE(20);
  const size = bytes.readBigUInt64BE(24);
  const l1Size = bytes.readUInt32BE(36);
  const l1Offset = Number(bytes.readBigUInt64BE(40));
  const cluster = 1 << clusterBits;
  const l2Entries = cluster / 8;
  const backingOffset = Number(bytes.readBigUInt64BE(8));
  const backingLength = bytes.readUInt32BE(16);
  const out = [
    `version ${version}, cluster_bits ${clusterBits}, size ${size}, l1_size ${l1Size}`,
    `backing ${backingLength === 0 ? "none" : JSON.stringify(bytes.subarray(backingOffset, backingOffset + backingLength).toString("latin1"))}`,
  ];
  if (version >= 3) out.push(`features ${bytes.subarray(72, 96).toString("hex")}, refcount_order ${bytes.readUInt32BE(96)}`);
  // Extended L2 entries (subclusters) are not read here.
  if (version >= 3 && (bytes.readBigUInt64BE(72) & 16n) !== 0n) return undefined;
  const guestClusters = Number((size + BigInt(cluster) - 1n) / BigInt(cluster));
  const csizeShift = 62 - (clusterBits - 8);
  for (let i = 0; i < guestClusters; i++) {
    const l1 = BigInt(bytes.readBigUInt64BE(l1Offset + 8 * Math.floor(i / l2Entries))) & OFFSET_MASK;
    if (l1 === 0n) continue;
    const entry = bytes.readBigUInt64BE(Number(l1) + 8 * (i % l2Entries));
    if (entry === 0n) continue;
    if ((entry & COMPRESSED) !== 0n) {
      const off = Number(entry & ((1n << BigInt(csizeShift)) - 1n));
      const sectors = Number((entry >> BigInt(csizeShift)) & ((1n << BigInt(clusterBits - 8)) - 1n)) + 1;
      const end = (off & ~511) + sectors * 512;
      out.push(`cluster ${i}: compressed ${hash(bytes.subarray(off, Math.min(end, bytes.length)))}`);
      continue;
    }
    const host = Number(entry & OFFSET_MASK);
    // A zero cluster's allocated bytes are never read, so only whether it has them counts.
    if ((entry & ZERO) !== 0n) out.push(`cluster ${i}: zero${host === 0 ? "" : ", allocated"}`);
    else out.push(`cluster ${i}: data ${hash(bytes.subarray(host, host + cluster))}`);
  }
  out.push(`file length ${bytes.length}`);
  return out;
}
