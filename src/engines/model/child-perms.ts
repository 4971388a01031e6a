/**
 * The generic child-permission rules of block.c (`bdrv_default_perms` and helpers). P and S are the
 * cumulative perm / shared perm of the parent node; `writable` is the parent's post-reopen writability.
 */
import type { ChildPermArgs } from "./drivers/driver.js";
import { BLK_PERM_ALL, BLK_PERM_CONSISTENT_READ, BLK_PERM_RESIZE, BLK_PERM_WRITE, BLK_PERM_WRITE_UNCHANGED } from "./perms.js";
import { qemuAssert, qemuNotReached, type QemuSourceLine } from "./qemu-would-crash.js";
import { BDRV_CHILD_COW, BDRV_CHILD_DATA, BDRV_CHILD_FILTERED, BDRV_CHILD_METADATA } from "./roles.js";

/** [perm, shared] for one child edge. */
export type PermPair = [perm: number, shared: number];

/** `bdrv_filter_default_perms`: pass everything through. */
export function filterDefaultPerms(P: number, S: number): PermPair {
  return [P & BLK_PERM_ALL, S & BLK_PERM_ALL];
}

/** `bdrv_default_perms_for_cow`: a backing file is only read, and may be written by others only if we allow it. */
export function cowPerms(P: number, S: number): PermPair {
  const shared = (S & BLK_PERM_WRITE ? BLK_PERM_WRITE | BLK_PERM_RESIZE : 0) | BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED;
  return [P & BLK_PERM_CONSISTENT_READ, shared];
}

/** `bdrv_default_perms_for_storage`: metadata needs write+resize when writable; data forbids sharing resize. */
export function storagePerms(role: number, P: number, S: number, writable: boolean): PermPair {
  let [perm, shared] = filterDefaultPerms(P, S);
  if (role & BDRV_CHILD_METADATA) {
    if (writable) perm |= BLK_PERM_WRITE | BLK_PERM_RESIZE;
    perm |= BLK_PERM_CONSISTENT_READ;
    shared &= ~(BLK_PERM_WRITE | BLK_PERM_RESIZE);
  }
  if (role & BDRV_CHILD_DATA) {
    shared &= ~BLK_PERM_RESIZE;
    if (perm & BLK_PERM_WRITE_UNCHANGED) perm |= BLK_PERM_WRITE;
    if (perm & BLK_PERM_WRITE) perm |= BLK_PERM_RESIZE;
  }
  return [perm, shared];
}

const AT = (line: number): QemuSourceLine => ({ file: "../../block.c", line, func: "bdrv_default_perms" });

/**
 * `bdrv_default_perms`: dispatch on the child's role. A role that is none of filtered, COW, data or
 * metadata, or a filtered/COW role mixed with storage roles, is a QEMU assertion failure.
 */
export function defaultPerms(role: number, P: number, S: number, writable: boolean): PermPair {
  if (role & BDRV_CHILD_FILTERED) {
    if (role & (BDRV_CHILD_DATA | BDRV_CHILD_METADATA | BDRV_CHILD_COW)) {
      qemuAssert(AT(2798), "!(role & (BDRV_CHILD_DATA | BDRV_CHILD_METADATA | BDRV_CHILD_COW))");
    }
    return filterDefaultPerms(P, S);
  }
  if (role & BDRV_CHILD_COW) {
    if (role & (BDRV_CHILD_DATA | BDRV_CHILD_METADATA)) qemuAssert(AT(2803), "!(role & (BDRV_CHILD_DATA | BDRV_CHILD_METADATA))");
    return cowPerms(P, S);
  }
  if (role & (BDRV_CHILD_DATA | BDRV_CHILD_METADATA)) return storagePerms(role, P, S, writable);
  return qemuNotReached(AT(2810));
}

/** `.bdrv_child_perm = bdrv_default_perms`, for drivers that use the generic rules. */
export function bdrvDefaultPerms({ child, P, S, writable }: ChildPermArgs): PermPair {
  return defaultPerms(child.role, P, S, writable);
}
