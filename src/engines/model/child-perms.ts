/**
 * The generic child-permission rules of block.c (`bdrv_default_perms` and helpers). P and S are the
 * cumulative perm / shared perm of the parent node; `writable` is the parent's post-reopen writability.
 */
import { PERM_ALL, PERM_CONSISTENT_READ, PERM_RESIZE, PERM_WRITE, PERM_WRITE_UNCHANGED } from "./perms.js";
import { ROLE_COW, ROLE_DATA, ROLE_FILTERED, ROLE_METADATA } from "./roles.js";

/** [perm, shared] for one child edge. */
export type PermPair = [perm: number, shared: number];

/** `bdrv_filter_default_perms`: pass everything through. */
export function filterDefaultPerms(P: number, S: number): PermPair {
  return [P & PERM_ALL, S & PERM_ALL];
}

/** `bdrv_default_perms_for_cow`: a backing file is only read, and may be written by others only if we allow it. */
export function cowPerms(P: number, S: number): PermPair {
  const shared = (S & PERM_WRITE ? PERM_WRITE | PERM_RESIZE : 0) | PERM_CONSISTENT_READ | PERM_WRITE_UNCHANGED;
  return [P & PERM_CONSISTENT_READ, shared];
}

/** `bdrv_default_perms_for_storage`: metadata needs write+resize when writable; data forbids sharing resize. */
export function storagePerms(role: number, P: number, S: number, writable: boolean): PermPair {
  let [perm, shared] = filterDefaultPerms(P, S);
  if (role & ROLE_METADATA) {
    if (writable) perm |= PERM_WRITE | PERM_RESIZE;
    perm |= PERM_CONSISTENT_READ;
    shared &= ~(PERM_WRITE | PERM_RESIZE);
  }
  if (role & ROLE_DATA) {
    shared &= ~PERM_RESIZE;
    if (perm & PERM_WRITE_UNCHANGED) perm |= PERM_WRITE;
    if (perm & PERM_WRITE) perm |= PERM_RESIZE;
  }
  return [perm, shared];
}

/** `bdrv_default_perms`: dispatch on the child's role. */
export function defaultPerms(role: number, P: number, S: number, writable: boolean): PermPair {
  if (role & ROLE_FILTERED) return filterDefaultPerms(P, S);
  if (role & ROLE_COW) return cowPerms(P, S);
  if (role & (ROLE_DATA | ROLE_METADATA)) return storagePerms(role, P, S, writable);
  return filterDefaultPerms(P, S);
}
