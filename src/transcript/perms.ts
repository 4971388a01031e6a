/**
 * Permission names in transcripts: QEMU's QAPI names (`consistent-read`, `write`, `write-unchanged`,
 * `resize`), always in QEMU's bit order. x-debug-query-block-graph lists them in descending order and
 * a model may list them in any order, so every list is re-sorted here before it is printed.
 */

/** QAPI BlockPermission values in ascending bit order (include/block/block-common.h). */
export const PERM_ORDER: readonly string[] = ["consistent-read", "write", "write-unchanged", "resize"];

/** The permissions in bit order; names QEMU 7.2 does not have sort after them, alphabetically. */
export function sortPerms(perms: readonly string[]): string[] {
  const rank = (p: string): number => {
    const i = PERM_ORDER.indexOf(p);
    return i === -1 ? PERM_ORDER.length : i;
  };
  return [...new Set(perms)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** `[consistent-read, write]`; `[]` for none. */
export function formatPerms(perms: readonly string[]): string {
  return `[${sortPerms(perms).join(", ")}]`;
}

/** Whether two permission lists name the same set. */
export function samePerms(a: readonly string[], b: readonly string[]): boolean {
  const x = sortPerms(a);
  const y = sortPerms(b);
  return x.length === y.length && x.every((p, i) => p === y[i]);
}
