/**
 * `qcow2_signal_corruption` (block/qcow2.c): the line QEMU prints on its stderr, the
 * BLOCK_IMAGE_CORRUPTED event, and for a fatal corruption on a writable node the corrupt bit in the
 * header (`qcow2_mark_corrupt`) and the node's driver taken away (`bs->drv = NULL`). Once a node has
 * signalled, it stays quiet: about any later corruption when it was not fatal, or when the image is
 * marked corrupt already. The request that found the corruption fails with -EIO.
 */
import type { DriverHost } from "../../drivers/driver.js";
import type { BdsNode } from "../../graph.js";

/** The node a qcow2 image belongs to, and what it reports through. */
export interface CorruptionOwner {
  host: DriverHost;
  node: BdsNode;
}

/** What qcow2_signal_corruption needs from the image's state (BDRVQcow2State). */
export interface CorruptionState {
  signaled: boolean;
  /** QCOW2_INCOMPAT_CORRUPT in s->incompatible_features. */
  readonly markedCorrupt: boolean;
  /** `qcow2_mark_corrupt`: the bit set, the header rewritten (a failure is ignored). */
  markCorrupt(): void;
}

/** C's `%#x` / `%#" PRIx64`: no prefix for zero. */
export function cHex(value: number | bigint): string {
  return value === 0 || value === 0n ? "0" : `0x${value.toString(16)}`;
}

/** Offset and size below zero are left out of the event, as QEMU leaves them. */
export function signalCorruption(owner: CorruptionOwner, s: CorruptionState, fatal: boolean, offset: number, size: number, message: string): void {
  const { host, node } = owner;
  // bdrv_is_writable: a read-only node's corruption is never fatal.
  fatal = fatal && !node.readOnly;
  if (s.signaled && (!fatal || s.markedCorrupt)) return;
  host.stderrLine?.(
    fatal
      ? `qcow2: Marking image as corrupt: ${message}; further corruption events will be suppressed`
      : `qcow2: Image is corrupt: ${message}; further non-fatal corruption events will be suppressed`,
  );
  // bdrv_get_device_name: qemu-storage-daemon's BlockBackends have no names.
  host.emit("BLOCK_IMAGE_CORRUPTED", {
    device: "",
    ...(node.name !== "" ? { "node-name": node.name } : {}),
    msg: message,
    ...(offset >= 0 ? { offset } : {}),
    ...(size >= 0 ? { size } : {}),
    fatal,
  });
  if (fatal) {
    host.corruptionMarks++;
    s.markCorrupt();
    node.ejected = true;
  }
  s.signaled = true;
}
