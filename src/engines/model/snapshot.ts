/**
 * Internal snapshots as block/snapshot.c dispatches them: a driver that has the operation answers,
 * else the node falls back to its primary child when no other child holds data, metadata or a
 * filtered node (`bdrv_snapshot_fallback`). Of the model's drivers only qcow2 has snapshots, and the
 * model opens only qcow2 images that have none (qcow2_read_snapshots is not modelled).
 */
import { Errno } from "./data/io-error.js";
import { isInserted } from "./data/block-io.js";
import { type BdsNode, primaryChild } from "./graph.js";
import { BDRV_CHILD_DATA, BDRV_CHILD_FILTERED, BDRV_CHILD_METADATA } from "./roles.js";

const STORAGE = BDRV_CHILD_DATA | BDRV_CHILD_METADATA | BDRV_CHILD_FILTERED;

/** `bdrv_snapshot_fallback`. */
function snapshotFallback(bs: BdsNode): BdsNode | undefined {
  const fallback = primaryChild(bs);
  if (!fallback) return undefined;
  return bs.children.some((c) => c.role & STORAGE && c !== fallback) ? undefined : fallback.bs;
}

/** `bdrv_can_snapshot`. */
export function canSnapshot(bs: BdsNode): boolean {
  if (bs.ejected || !isInserted(bs) || bs.readOnly) return false;
  if (bs.driver.snapshotCreate) return true;
  const fallback = snapshotFallback(bs);
  return fallback ? canSnapshot(fallback) : false;
}

/** `bdrv_snapshot_list`: how many snapshots the node has, or -errno. */
export function snapshotCount(bs: BdsNode): number {
  if (bs.ejected) return -Errno.ENOMEDIUM;
  if (bs.driver.snapshotCount) return bs.driver.snapshotCount(bs);
  const fallback = snapshotFallback(bs);
  return fallback ? snapshotCount(fallback) : -Errno.ENOTSUP;
}

/** `bdrv_snapshot_create`: 0 or -errno (the driver throws what the model cannot do). */
export function snapshotCreate(bs: BdsNode): number {
  if (bs.ejected) return -Errno.ENOMEDIUM;
  if (bs.driver.snapshotCreate) return bs.driver.snapshotCreate(bs);
  const fallback = snapshotFallback(bs);
  return fallback ? snapshotCreate(fallback) : -Errno.ENOTSUP;
}
