/**
 * QMP messages as they travel on the wire, shared by the client, the monitor emulation and the
 * Engine interface. Nothing here knows which side of the socket it is on.
 */

/** A QMP error object, exactly as QEMU puts it on the wire. */
export interface QmpErrorBody {
  class: string;
  desc: string;
}

/** A reply to one command: QMP errors are ordinary replies, never exceptions. */
export type QmpReply = { return: unknown } | { error: QmpErrorBody };

/** An asynchronous QMP event (e.g. BLOCK_EXPORT_DELETED). */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}
