/** Permission bits of QEMU 7.2 under their C names (include/block/block-common.h), and their two spellings. */

export const BLK_PERM_CONSISTENT_READ = 0x01;
export const BLK_PERM_WRITE = 0x02;
export const BLK_PERM_WRITE_UNCHANGED = 0x04;
export const BLK_PERM_RESIZE = 0x08;
/** Every permission bit QEMU 7.2 defines (the old BLK_PERM_GRAPH_MOD, 0x10, was removed before 7.2). */
export const BLK_PERM_ALL = 0x0f;

/** QAPI BlockPermission names, indexed by bit number. */
export const QAPI_PERM_NAMES = ["consistent-read", "write", "write-unchanged", "resize"] as const;

/** Names `bdrv_perm_names` uses in error messages, indexed by bit number. */
const MESSAGE_PERM_NAMES = ["consistent read", "write", "write unchanged", "resize"] as const;

/** `bdrv_perm_names`: ascending bit order joined with ", " (e.g. "consistent read, write"). */
export function permNamesForMessage(perm: number): string {
  const names: string[] = [];
  for (let i = 0; i < 4; i++) if (perm & (1 << i)) names.push(MESSAGE_PERM_NAMES[i]!);
  return names.join(", ");
}

/** The single-perm name used in file-posix lock messages. */
export function permMessageName(bit: number): string {
  return MESSAGE_PERM_NAMES[bit]!;
}

/** x-debug-query-block-graph order: descending (QEMU prepends while looping over the enum). */
export function permsToQapiList(perm: number): string[] {
  const names: string[] = [];
  for (let i = 3; i >= 0; i--) if (perm & (1 << i)) names.push(QAPI_PERM_NAMES[i]!);
  return names;
}

/** Bits from a QAPI BlockPermission list (already schema-validated). */
export function permsFromQapiList(list: readonly unknown[]): number {
  let perm = 0;
  for (const name of list) {
    const i = QAPI_PERM_NAMES.indexOf(name as (typeof QAPI_PERM_NAMES)[number]);
    if (i >= 0) perm |= 1 << i;
  }
  return perm;
}
