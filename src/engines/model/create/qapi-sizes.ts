/**
 * A QAPI `size` or `uint64` member as a driver's create gets it: visit_type_size is
 * qobject_input_type_uint64, which takes a negative integer for backward compatibility and keeps
 * its two's complement (-512 is 2^64 - 512). The drivers then compare it as uint64_t, or pass it
 * on as an int64_t offset, where 2^63 and up are negative again.
 */
export function uint64Of(value: unknown): bigint {
  return BigInt.asUintN(64, BigInt(value as number | bigint));
}

/** The member as the int64_t it becomes when passed on as an offset or a length. */
export function int64Of(value: unknown): bigint {
  return BigInt.asIntN(64, BigInt(value as number | bigint));
}
