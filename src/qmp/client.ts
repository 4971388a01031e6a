/**
 * A QMP client modelled on QEMU's python/qemu/qmp: an explicit state machine, the greeting and
 * `qmp_capabilities` before anything else, ids mapping replies to callers, events in their own queue,
 * a timeout per call chosen by the caller, and one typed error for every pending call when the
 * connection drops. A QMP `{"error": …}` reply is a normal result.
 *
 *   idle ──connect()──▶ connecting ──greeting + capabilities──▶ running ──close()──▶ disconnecting ──▶ closed
 *                          └──────── peer gone / garbage / timeout ──────┴────────────────────────────▶ closed
 */
import { QmpDisconnectedError, QmpProtocolError, QmpStateError, QmpTimeoutError } from "./errors.js";
import { EventQueue } from "./event-queue.js";
import type { QmpEventMatch } from "./event-match.js";
import { encodeMessage, JsonLineDecoder, type JsonObject } from "./framing.js";
import type { QmpTransport } from "./transport.js";
import type { QmpEvent, QmpReply } from "./wire.js";

export type QmpClientState = "idle" | "connecting" | "running" | "disconnecting" | "closed";

export interface QmpConnectOptions {
  /** Bound on greeting + capabilities negotiation. */
  timeoutMs: number;
  /** Aborting fails the negotiation (and closes the transport). */
  signal?: AbortSignal;
}

export interface QmpCallOptions {
  /** Bound on this call; on expiry it fails with QmpTimeoutError and its late reply is dropped. */
  timeoutMs: number;
}

interface Pending {
  command: string;
  resolve(reply: QmpReply): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
}

/** One QMP connection. Not reusable: once closed, make a new client. */
export class QmpClient {
  #state: QmpClientState = "idle";
  #transport: QmpTransport | undefined;
  #greeting: JsonObject | undefined;
  readonly #decoder = new JsonLineDecoder();
  readonly #events = new EventQueue();
  readonly #pending = new Map<string, Pending>();
  /** Ids of calls that timed out: their replies may still come and are dropped, not protocol errors. */
  readonly #abandoned = new Set<string>();
  #nextId = 1;
  /** Why the connection ended; calls made afterwards fail with it. */
  #failure: Error | undefined;

  get state(): QmpClientState {
    return this.#state;
  }

  /** The greeting exactly as received ({"QMP": {version, capabilities}}); set once connected. */
  get greeting(): JsonObject {
    if (!this.#greeting) throw new QmpStateError("no QMP greeting yet: connect() first");
    return this.#greeting;
  }

  /**
   * Take over `transport`, read the greeting and negotiate capabilities. Resolves with the greeting
   * once in command mode; on failure the transport is closed and the client is `closed`.
   */
  connect(transport: QmpTransport, opts: QmpConnectOptions): Promise<JsonObject> {
    if (this.#state !== "idle") return Promise.reject(new QmpStateError(`connect() on a ${this.#state} QMP client`));
    this.#state = "connecting";
    this.#transport = transport;
    transport.input.on("data", (chunk: Buffer) => this.#onData(chunk));
    transport.input.on("end", () => this.#onPeerGone("the peer closed the connection"));
    transport.input.on("close", () => this.#onPeerGone("the connection closed"));
    transport.input.on("error", (e) => this.#onPeerGone(`read failed: ${e.message}`, e));
    transport.output.on("error", (e) => this.#onPeerGone(`write failed: ${e.message}`, e));

    return new Promise<JsonObject>((resolve, reject) => {
      const timer = setTimeout(
        () => this.#fail(new QmpTimeoutError("qmp_capabilities (greeting and negotiation)", opts.timeoutMs)),
        opts.timeoutMs,
      );
      const onAbort = () => this.#fail(new QmpDisconnectedError("negotiation aborted", { cause: opts.signal?.reason }));
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      const done = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
      };
      // The negotiation is itself a pending call, so every failure path settles it the same way.
      this.#pending.set("greeting", {
        command: "qmp_capabilities",
        timer: undefined,
        resolve: () => {
          done();
          resolve(this.#greeting!);
        },
        reject: (error) => {
          done();
          reject(error);
        },
      });
      if (opts.signal?.aborted) onAbort();
    });
  }

  /** Send one command and wait for its reply (`{return}` or `{error}`). Transport failures reject. */
  execute(command: string, args: Record<string, unknown> | undefined, opts: QmpCallOptions): Promise<QmpReply> {
    if (this.#state !== "running") {
      if (this.#failure) return Promise.reject(this.#failure);
      return Promise.reject(new QmpStateError(`execute('${command}') on a ${this.#state} QMP client`));
    }
    const id = `bc-${this.#nextId++}`;
    return new Promise<QmpReply>((resolve, reject) => {
      const pending: Pending = { command, resolve, reject, timer: undefined };
      pending.timer = setTimeout(() => {
        this.#pending.delete(id);
        this.#abandoned.add(id);
        reject(new QmpTimeoutError(command, opts.timeoutMs));
      }, opts.timeoutMs);
      this.#pending.set(id, pending);
      this.#send({ execute: command, ...(args ? { arguments: args } : {}), id });
    });
  }

  /** Events received so far, oldest first; the queue is emptied. */
  takeEvents(): QmpEvent[] {
    return this.#events.take();
  }

  /**
   * The first queued event with this name whose data contains `match`, or the next to arrive;
   * events that do not match stay queued. QmpEventTimeoutError after timeoutMs.
   */
  waitEvent(name: string, timeoutMs: number, match?: QmpEventMatch): Promise<QmpEvent> {
    return this.#events.wait(name, timeoutMs, match);
  }

  /** Close the connection; pending calls fail with QmpDisconnectedError. Idempotent. */
  close(): void {
    if (this.#state === "closed" || this.#state === "disconnecting") return;
    this.#state = "disconnecting";
    this.#fail(new QmpDisconnectedError("closed by the client"));
  }

  #send(message: JsonObject): void {
    this.#transport!.output.write(encodeMessage(message));
  }

  #onData(chunk: Buffer): void {
    if (this.#state === "closed") return;
    let messages: JsonObject[];
    try {
      messages = this.#decoder.push(chunk);
    } catch (error) {
      this.#fail(error as Error);
      return;
    }
    for (const message of messages) {
      if (this.#isClosed()) return;
      this.#dispatch(message);
    }
  }

  #dispatch(message: JsonObject): void {
    if (this.#state === "connecting" && !this.#greeting) {
      if (!isObject(message.QMP)) {
        this.#fail(new QmpProtocolError(`expected the QMP greeting, got ${brief(message)}`));
        return;
      }
      this.#greeting = message;
      this.#send({ execute: "qmp_capabilities", id: "capabilities" });
      return;
    }
    if (typeof message.event === "string") {
      this.#events.push(message as unknown as QmpEvent);
      return;
    }
    if (!("return" in message) && !("error" in message)) {
      this.#fail(new QmpProtocolError(`neither a reply nor an event: ${brief(message)}`));
      return;
    }
    const id = typeof message.id === "string" ? message.id : undefined;
    if (this.#state === "connecting") {
      if (id !== "capabilities" || !("return" in message)) {
        this.#fail(new QmpProtocolError(`qmp_capabilities failed: ${brief(message)}`));
        return;
      }
      this.#state = "running";
      this.#settle("greeting")?.resolve({ return: {} });
      return;
    }
    if (id !== undefined && this.#abandoned.delete(id)) return;
    const pending = id === undefined ? undefined : this.#settle(id);
    if (!pending) {
      this.#fail(new QmpProtocolError(`a reply for no pending call: ${brief(message)}`));
      return;
    }
    pending.resolve("error" in message ? { error: message.error as never } : { return: message.return });
  }

  #isClosed(): boolean {
    return this.#state === "closed";
  }

  #onPeerGone(reason: string, cause?: Error): void {
    if (this.#state === "closed") return;
    const partial = this.#decoder.pending.trim();
    this.#fail(new QmpDisconnectedError(partial ? `${reason} in the middle of a message` : reason, { cause }));
  }

  /** End the connection for good: every pending call and event waiter fails with `error`. */
  #fail(error: Error): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#failure = error;
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(error);
    this.#events.fail(error);
    this.#transport?.close();
  }

  #settle(id: string): Pending | undefined {
    const pending = this.#pending.get(id);
    if (pending) {
      clearTimeout(pending.timer);
      this.#pending.delete(id);
    }
    return pending;
  }
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function brief(message: JsonObject): string {
  const text = JSON.stringify(message);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
