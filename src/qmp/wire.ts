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

/**
 * A JSON number that was written as a float (with a fraction or an exponent: `1e3`, `2.0`, `-0.0`)
 * and whose value is whole. QEMU keeps it a double (a QNum of kind QNUM_DOUBLE), which an integer
 * parameter refuses ("Invalid parameter type for 'size', expected: integer"), while JavaScript would
 * read it as the integer. The monitor's parser makes one; the QAPI visitor, the monitor's writer and
 * the client's encoder know it. A float with a fraction stays a plain number: nothing can mistake
 * it for an integer.
 */
export class QmpFloat {
  constructor(readonly value: number) {}
}
