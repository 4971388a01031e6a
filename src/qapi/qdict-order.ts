/**
 * QEMU prints every QMP object from a QDict, whose iteration order is its hash-bucket order, not the
 * order members were inserted. Reproducing it makes model replies byte-identical to QEMU's JSON.
 */
import { QmpFloat } from "../qmp/wire.js";

const BUCKETS = 512; // QDICT_BUCKET_MAX in include/qapi/qmp/qdict.h

/** `tdb_hash` from qobject/qdict.c, in 32-bit unsigned arithmetic. */
function tdbHash(name: string): number {
  let value = Math.imul(0x238f13af, name.length) >>> 0;
  for (let i = 0; i < name.length; i++) {
    value = (value + (name.charCodeAt(i) << ((i * 5) % 24))) >>> 0;
  }
  return (Math.imul(1103515243, value) + 12345) >>> 0;
}

const bucketCache = new Map<string, number>();

/** The QDict bucket of a key (cached: the same few hundred keys recur in every reply). */
export function qdictBucket(key: string): number {
  let b = bucketCache.get(key);
  if (b === undefined) {
    b = tdbHash(key) % BUCKETS;
    bucketCache.set(key, b);
  }
  return b;
}

/**
 * Orders already computed, in a tree walked key by key in insertion order: replies repeat the same
 * few object shapes, and walking it costs less than sorting again or building a key for a map.
 */
interface OrderNode {
  next: Map<string, OrderNode>;
  order?: readonly string[];
}
let orders: OrderNode = { next: new Map() };
let orderNodes = 0;
/** Keys can be the user's (options, blkdebug sections): bound what they can make the tree hold. */
const ORDER_NODES_MAX = 50_000;

/**
 * Keys in the order QEMU iterates a QDict built by inserting them in the given order: ascending
 * bucket, and within a bucket the most recently inserted first (entries are inserted at the head).
 */
export function qdictKeyOrder(keys: readonly string[]): readonly string[] {
  if (keys.length < 2) return keys;
  if (orderNodes > ORDER_NODES_MAX) {
    orders = { next: new Map() };
    orderNodes = 0;
  }
  let node = orders;
  for (const key of keys) {
    let child = node.next.get(key);
    if (child === undefined) {
      child = { next: new Map() };
      node.next.set(key, child);
      orderNodes++;
    }
    node = child;
  }
  return (node.order ??= Object.freeze(
    keys
      .map((key, index) => ({ key, index, bucket: qdictBucket(key) }))
      .sort((a, b) => a.bucket - b.bucket || b.index - a.index)
      .map((e) => e.key),
  ));
}

/**
 * A deep copy of a JSON value with every object's keys in QDict order. Build objects in QAPI schema
 * order (the order QEMU's output visitor inserts members) before calling this.
 */
export function toQdictOrder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toQdictOrder);
  if (value === null || typeof value !== "object" || value instanceof QmpFloat) return value;
  const src = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of qdictKeyOrder(Object.keys(src))) out[key] = toQdictOrder(src[key]);
  return out;
}
