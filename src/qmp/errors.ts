/**
 * Typed failures of the QMP client. A QMP `{"error": …}` reply is NOT one of these: it is an ordinary
 * result. These are the transport going wrong: a call outliving its timeout, the peer going away,
 * the peer sending something that is not QMP, or the client being used in the wrong state.
 */
import { BlockcheckError } from "../errors.js";

/** A call got no reply within the caller's timeout. The connection stays up; the late reply is dropped. */
export class QmpTimeoutError extends BlockcheckError {
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super("E_QMP_TIMEOUT", `QMP command '${command}' got no reply within ${timeoutMs} ms`);
  }
}

/**
 * The connection closed (or failed) while calls were pending, or a call was made after it did. Every
 * pending call of one connection is failed with the same instance.
 */
export class QmpDisconnectedError extends BlockcheckError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super("E_QMP_DISCONNECTED", `QMP connection lost: ${reason}`, options);
  }
}

/** The peer broke the protocol: garbage JSON, no greeting, a reply nobody asked for. Fatal to the connection. */
export class QmpProtocolError extends BlockcheckError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("E_QMP_PROTOCOL", `QMP protocol error: ${message}`, options);
  }
}

/** The client was used in a state that does not allow it (e.g. execute before connect). A caller's bug. */
export class QmpStateError extends BlockcheckError {
  constructor(message: string) {
    super("E_QMP_STATE", message);
  }
}

/** waitEvent() saw no event of that name within the caller's timeout. */
export class QmpEventTimeoutError extends BlockcheckError {
  constructor(
    readonly eventName: string,
    readonly timeoutMs: number,
  ) {
    super("E_QMP_EVENT_TIMEOUT", `no QMP event '${eventName}' within ${timeoutMs} ms`);
  }
}
