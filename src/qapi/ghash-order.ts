/**
 * Which leftover key QEMU's input visitor names first in "Parameter '%s' is unexpected".
 *
 * qobject-input-visitor.c copies a struct's QDict keys into a GLib GHashTable, removes each member as
 * it is visited, and reports the first key the table iterates. GHashTable is open addressing with
 * quadratic probing and resizes on insert and remove, so the order is reproduced by replaying those
 * operations on a model of glib's table (ghash.c, glib 2.74 as in Debian 12).
 */

const UNUSED = 0;
const TOMBSTONE = 1;
/** glib's prime_mod table: the modulus used for a table of 1 << shift slots. */
const PRIME_MOD = [1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521];
const MIN_SHIFT = 3;

/** g_str_hash: djb2 over the key's bytes read as signed chars. */
function strHash(key: string): number {
  let h = 5381;
  for (const byte of Buffer.from(key, "utf8")) {
    const c = byte >= 0x80 ? byte - 0x100 : byte;
    h = (Math.imul(h, 33) + c) >>> 0;
  }
  return h < 2 ? 2 : h; // HASH_IS_REAL: 0 and 1 are reserved for unused and tombstone
}

/** A GHashTable of string keys (values are irrelevant to the order). */
export class GHashModel {
  private size = 1 << MIN_SHIFT;
  private mod = PRIME_MOD[MIN_SHIFT]!;
  private mask = this.size - 1;
  private nnodes = 0;
  private noccupied = 0;
  private hashes: number[] = new Array(this.size).fill(UNUSED);
  private keys: (string | undefined)[] = new Array(this.size).fill(undefined);

  private toIndex(hash: number): number {
    return (Math.imul(hash, 11) >>> 0) % this.mod;
  }

  /** g_hash_table_lookup_node: the slot holding `key`, or where it would go. */
  private lookup(key: string, hash: number): number {
    let index = this.toIndex(hash);
    let firstTombstone = -1;
    let step = 0;
    while (this.hashes[index] !== UNUSED) {
      if (this.hashes[index] === hash && this.keys[index] === key) return index;
      if (this.hashes[index] === TOMBSTONE && firstTombstone < 0) firstTombstone = index;
      step++;
      index = (index + step) & this.mask;
    }
    return firstTombstone >= 0 ? firstTombstone : index;
  }

  insert(key: string): void {
    const hash = strHash(key);
    const index = this.lookup(key, hash);
    const old = this.hashes[index]!;
    if (old >= 2) return;
    this.hashes[index] = hash;
    this.keys[index] = key;
    this.nnodes++;
    if (old === UNUSED) {
      this.noccupied++;
      this.maybeResize();
    }
  }

  remove(key: string): void {
    const hash = strHash(key);
    const index = this.lookup(key, hash);
    if (this.hashes[index]! < 2) return;
    this.hashes[index] = TOMBSTONE;
    this.keys[index] = undefined;
    this.nnodes--;
    this.maybeResize();
  }

  /** Keys in iteration order (ascending slot). */
  keysInOrder(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.size; i++) if (this.hashes[i]! >= 2) out.push(this.keys[i]!);
    return out;
  }

  private maybeResize(): void {
    const { noccupied, size } = this;
    if ((size > this.nnodes * 4 && size > 1 << MIN_SHIFT) || size <= noccupied + Math.trunc(noccupied / 16)) {
      this.resize();
    }
  }

  /** g_hash_table_resize: new size from nnodes * 1.333, then the in-place rehash with eviction. */
  private resize(): void {
    const oldSize = this.size;
    let n = Math.trunc(this.nnodes * 1.333);
    let shift = 0;
    while (n) {
      n >>= 1;
      shift++;
    }
    shift = Math.max(shift, MIN_SHIFT);
    this.size = 1 << shift;
    this.mod = PRIME_MOD[shift]!;
    this.mask = this.size - 1;
    const slots = Math.max(this.size, oldSize);
    while (this.hashes.length < slots) {
      this.hashes.push(UNUSED);
      this.keys.push(undefined);
    }
    const relocated = new Array<boolean>(slots).fill(false);
    for (let i = 0; i < oldSize; i++) {
      let hash = this.hashes[i]!;
      if (hash < 2) {
        this.hashes[i] = UNUSED;
        continue;
      }
      if (relocated[i]) continue;
      this.hashes[i] = UNUSED;
      let key = this.keys[i];
      this.keys[i] = undefined;
      for (;;) {
        let index = this.toIndex(hash);
        let step = 0;
        while (relocated[index]) {
          step++;
          index = (index + step) & this.mask;
        }
        relocated[index] = true;
        const replaced = this.hashes[index]!;
        const replacedKey = this.keys[index];
        this.hashes[index] = hash;
        this.keys[index] = key;
        if (replaced < 2) break;
        hash = replaced;
        key = replacedKey;
      }
    }
    this.hashes.length = this.size;
    this.keys.length = this.size;
    this.noccupied = this.nnodes;
  }
}
