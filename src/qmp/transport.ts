/**
 * Byte pipes a QMP client can speak over: a UNIX socket (connected by us, or accepted from a QEMU that
 * connected to us) or a pair of streams (a process's stdout/stdin, or in-memory streams in tests).
 */
import { connect, type Socket } from "node:net";
import type { Readable, Writable } from "node:stream";
import { QmpDisconnectedError } from "./errors.js";

/** What the client reads from and writes to. `close()` must be safe to call more than once. */
export interface QmpTransport {
  /** Bytes from the peer. Its 'end'/'close'/'error' tell the client the peer is gone. */
  readonly input: Readable;
  /** Bytes to the peer. */
  readonly output: Writable;
  /** Tear the pipe down without waiting for the peer. */
  close(): void;
}

/** A transport over an already connected socket (e.g. one a listening server accepted). */
export function socketTransport(socket: Socket): QmpTransport {
  return { input: socket, output: socket, close: () => socket.destroy() };
}

/** A transport over two streams, e.g. a child's stdout and stdin for `--chardev stdio`. */
export function streamTransport(input: Readable, output: Writable): QmpTransport {
  return {
    input,
    output,
    close: () => {
      input.destroy();
      output.destroy();
    },
  };
}

/** Connect to a listening UNIX socket; rejects with QmpDisconnectedError when nobody listens. */
export function connectUnixSocket(path: string): Promise<QmpTransport> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const onError = (cause: Error) => reject(new QmpDisconnectedError(`cannot connect to ${path}`, { cause }));
    socket.once("error", onError);
    socket.once("connect", () => {
      socket.off("error", onError);
      resolve(socketTransport(socket));
    });
  });
}
