/**
 * A throttle group's ThrottleConfig as object-add builds it (block/throttle-groups.c and
 * util/throttle.c), for QEMU's errors on limits out of range. Only the checks are modelled: no I/O is
 * throttled.
 *
 * object-add sets the group's properties one by one in QDict order (object_set_properties_from_qdict):
 * each `x-…` property with `throttle_group_set` (negative values and burst lengths past UINT_MAX
 * refused), `limits` with `throttle_group_set_limits` (`throttle_limits_to_config`, then
 * `throttle_is_valid` on the merged config). `throttle_group_obj_complete` checks the result once
 * more. Values are C's: buckets hold uint64_t, so a negative limit wraps to a huge one.
 */
import { qmpSchema } from "../../qapi/generated/qmp-schema.js";
import type { SchemaObject } from "../../qapi/schema-types.js";
import { qdictKeyOrder } from "../../qapi/qdict-order.js";
import { fail } from "./qmp-failure.js";

/** The six buckets, in BucketType order. */
const BUCKETS = ["bps-total", "bps-read", "bps-write", "iops-total", "iops-read", "iops-write"] as const;
type Bucket = (typeof BUCKETS)[number];

interface LeakyBucket {
  avg: bigint;
  max: bigint;
  burstLength: bigint;
}

/** ThrottleConfig: uint64_t fields. */
export interface ThrottleConfig {
  buckets: Record<Bucket, LeakyBucket>;
  opSize: bigint;
}

const THROTTLE_VALUE_MAX = 1000000000000000n;
const UINT_MAX = 4294967295n;
const u64 = (v: bigint) => BigInt.asUintN(64, v);
const int64 = (v: unknown) => BigInt(v as number | bigint);

/** throttle_config_init(): all zero, burst lengths 1. */
export function throttleConfigInit(): ThrottleConfig {
  const buckets = Object.fromEntries(BUCKETS.map((b) => [b, { avg: 0n, max: 0n, burstLength: 1n }])) as Record<Bucket, LeakyBucket>;
  return { buckets, opSize: 0n };
}

/**
 * The properties of an object-add of a throttle-group, applied as QEMU applies them; throws
 * QmpFailure with QEMU's message at the first that fails.
 */
export function setThrottleGroupProperties(cfg: ThrottleConfig, props: Record<string, unknown>): void {
  // The QDict the output visitor built: members inserted in schema order, iterated in QDict order.
  const keys = propertyOrder().filter((k) => props[k] !== undefined);
  for (const key of qdictKeyOrder(keys)) {
    if (key === "limits") setLimits(cfg, props[key] as Record<string, unknown>);
    else setProperty(cfg, key, int64(props[key]));
  }
}

/** ThrottleGroupProperties' members in schema order (object-add's throttle-group branch). */
function propertyOrder(): string[] {
  const objectAdd = qmpSchema.types[qmpSchema.commands["object-add"]!.arg] as SchemaObject;
  const branch = qmpSchema.types[objectAdd.variants!["throttle-group"]!] as SchemaObject;
  return branch.members.map((m) => m.name);
}

/** throttle_group_set(): one `x-…` property. */
function setProperty(cfg: ThrottleConfig, name: string, value: bigint): void {
  if (value < 0n) fail("Property values cannot be negative");
  if (name === "x-iops-size") {
    cfg.opSize = value;
    return;
  }
  const m = /^x-((?:bps|iops)-(?:total|read|write))(-max)?(-length)?$/.exec(name);
  if (!m) throw new Error(`model bug: unknown throttle-group property '${name}'`);
  const bucket = cfg.buckets[m[1] as Bucket];
  if (m[3]) {
    // QEMU's message lacks a space here ("therange").
    if (value > UINT_MAX) fail(`${name} value must be in therange [0, ${UINT_MAX}]`);
    bucket.burstLength = value;
  } else if (m[2]) {
    bucket.max = value;
  } else {
    bucket.avg = value;
  }
}

/** throttle_group_set_limits(): throttle_limits_to_config() on a copy, kept only when it is valid. */
export function setLimits(cfg: ThrottleConfig, limits: Record<string, unknown>): void {
  const next: ThrottleConfig = { buckets: structuredClone(cfg.buckets), opSize: cfg.opSize };
  const has = (k: string) => limits[k] !== undefined;
  for (const b of BUCKETS) if (has(b)) next.buckets[b].avg = u64(int64(limits[b]));
  for (const b of BUCKETS) if (has(`${b}-max`)) next.buckets[b].max = u64(int64(limits[`${b}-max`]));
  for (const b of BUCKETS) {
    const key = `${b}-max-length`;
    if (!has(key)) continue;
    // `arg->…_max_length > UINT_MAX` compares as int64: a negative length passes, then wraps.
    const v = int64(limits[key]);
    if (v > UINT_MAX) fail(`${key} value must be in the range [0, ${UINT_MAX}]`);
    next.buckets[b].burstLength = u64(v);
  }
  if (has("iops-size")) next.opSize = u64(int64(limits["iops-size"]));
  throttleIsValid(next);
  cfg.buckets = next.buckets;
  cfg.opSize = next.opSize;
}

/** throttle_is_valid(): QEMU's first complaint about a whole config. */
export function throttleIsValid(cfg: ThrottleConfig): void {
  const b = cfg.buckets;
  const both = (f: "avg" | "max", kind: "bps" | "iops") =>
    b[`${kind}-total`][f] !== 0n && (b[`${kind}-read`][f] !== 0n || b[`${kind}-write`][f] !== 0n);
  if (both("avg", "bps") || both("avg", "iops") || both("max", "bps") || both("max", "iops")) {
    fail("bps/iops/max total values and read/write values cannot be used at the same time");
  }
  if (cfg.opSize !== 0n && b["iops-total"].avg === 0n && b["iops-read"].avg === 0n && b["iops-write"].avg === 0n) {
    fail("iops size requires an iops value to be set");
  }
  for (const name of BUCKETS) {
    const bkt = b[name];
    if (bkt.avg > THROTTLE_VALUE_MAX || bkt.max > THROTTLE_VALUE_MAX) {
      fail(`bps/iops/max values must be within [0, ${THROTTLE_VALUE_MAX}]`);
    }
    if (bkt.burstLength === 0n) fail("the burst length cannot be 0");
    if (bkt.burstLength > 1n && bkt.max === 0n) fail("burst length set without burst rate");
    if (bkt.max !== 0n && bkt.burstLength > THROTTLE_VALUE_MAX / bkt.max) fail("burst length too high for this burst rate");
    if (bkt.max !== 0n && bkt.avg === 0n) fail("bps_max/iops_max require corresponding bps/iops values");
    if (bkt.max !== 0n && bkt.max < bkt.avg) fail("bps_max/iops_max cannot be lower than bps/iops");
  }
}

/** ThrottleLimits' members in schema order (the order the output visitor inserts them). */
function limitsOrder(): string[] {
  const objectAdd = qmpSchema.types[qmpSchema.commands["object-add"]!.arg] as SchemaObject;
  const branch = qmpSchema.types[objectAdd.variants!["throttle-group"]!] as SchemaObject;
  const limits = qmpSchema.types[branch.members.find((m) => m.name === "limits")!.type] as SchemaObject;
  return limits.members.map((m) => m.name);
}

/** The schema type of a throttle-group's `limits` (ThrottleLimits), for visiting a qom-set value. */
export function limitsType(): string {
  const objectAdd = qmpSchema.types[qmpSchema.commands["object-add"]!.arg] as SchemaObject;
  const branch = qmpSchema.types[objectAdd.variants!["throttle-group"]!] as SchemaObject;
  return branch.members.find((m) => m.name === "limits")!.type;
}

/**
 * throttle_group_get_limits (throttle_config_to_limits): every member, each uint64_t field read back
 * as the int64 it is visited as.
 */
export function limitsOf(cfg: ThrottleConfig): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const key of limitsOrder()) out[key] = BigInt.asIntN(64, limitValue(cfg, key));
  return out;
}

/** throttle_group_get: one `x-…` property (its name without the `x-`). */
export function throttleProperty(cfg: ThrottleConfig, name: string): bigint {
  return BigInt.asIntN(64, limitValue(cfg, name));
}

function limitValue(cfg: ThrottleConfig, key: string): bigint {
  if (key === "iops-size") return cfg.opSize;
  const m = /^((?:bps|iops)-(?:total|read|write))(-max)?(-length)?$/.exec(key);
  if (!m) throw new Error(`model bug: unknown throttle limit '${key}'`);
  const bucket = cfg.buckets[m[1] as Bucket];
  return m[3] ? bucket.burstLength : m[2] ? bucket.max : bucket.avg;
}
