/**
 * The bytes of a LUKS1 image that qemu-img draws at random or times on the host, which the model's
 * writer cannot reproduce (luks-create.ts): the master key digest, salt and iteration count, the
 * UUID, each key slot's iterations and salt, and each slot's key material. Comparisons with QEMU's
 * files mask exactly these; everything else (names, offsets, stripes, states, the payload) is compared.
 */
import { L, LUKS_MAGIC, LUKS_NUM_KEY_SLOTS, LUKS_SECTOR_SIZE, parseLuksHeader } from "./luks-format.js";

export interface LuksRandomField {
  name: string;
  offset: number;
  length: number;
}

/** The random fields of a LUKS1 image, or [] when `bytes` is no LUKS image. */
export function luksRandomFields(bytes: Buffer): LuksRandomField[] {
  if (bytes.length < 592 || !bytes.subarray(0, 6).equals(LUKS_MAGIC)) return [];
  const h = parseLuksHeader(bytes);
  const out: LuksRandomField[] = [{ name: "master key digest, salt, iterations and UUID", offset: L.masterKeyDigest, length: L.keySlots - L.masterKeyDigest }];
  for (let i = 0; i < LUKS_NUM_KEY_SLOTS; i++) {
    const slot = h.keySlots[i]!;
    out.push({ name: `key slot ${i} iterations and salt`, offset: L.keySlots + i * L.slotSize + 4, length: 36 });
    // Bounded by the stripes the header gives, so a corrupt header cannot mask the whole file.
    const material = h.masterKeyLen * Math.min(slot.stripes, 4000);
    out.push({ name: `key slot ${i} key material`, offset: slot.keyOffsetSector * LUKS_SECTOR_SIZE, length: material });
  }
  return out;
}
