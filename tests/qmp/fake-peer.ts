/**
 * A scripted QMP peer on a real UNIX socket, for testing the client without QEMU. It sends a greeting,
 * answers qmp_capabilities, and hands every other command to the test's `onCommand`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const GREETING = {
  QMP: { version: { qemu: { micro: 22, minor: 2, major: 7 }, package: "fake" }, capabilities: ["oob"] },
};

export interface Command {
  execute: string;
  arguments?: Record<string, unknown>;
  id?: string;
}

export interface FakePeerOptions {
  /** Called for every command after negotiation; reply with `peer.send`. */
  onCommand?: (command: Command, peer: FakePeer) => void;
  /** Replace the greeting line (raw text, sent as is). */
  greetingLine?: string;
}

export class FakePeer {
  readonly path: string;
  readonly received: Command[] = [];
  socket: Socket | undefined;
  readonly #dir: string;
  readonly #server: Server;

  private constructor(dir: string, server: Server) {
    this.#dir = dir;
    this.path = join(dir, "qmp.sock");
    this.#server = server;
  }

  static async start(opts: FakePeerOptions = {}): Promise<FakePeer> {
    const dir = mkdtempSync(join(tmpdir(), "bc-fakeqmp-"));
    const server = createServer();
    const peer = new FakePeer(dir, server);
    server.on("connection", (socket) => {
      peer.socket = socket;
      socket.write((opts.greetingLine ?? JSON.stringify(GREETING)) + "\r\n");
      let buffer = "";
      socket.on("data", (chunk) => {
        buffer += chunk.toString("utf8");
        let nl: number;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const command = JSON.parse(buffer.slice(0, nl)) as Command;
          buffer = buffer.slice(nl + 1);
          peer.received.push(command);
          if (command.execute === "qmp_capabilities" && peer.received.length === 1) {
            peer.send({ return: {}, id: command.id });
          } else {
            opts.onCommand?.(command, peer);
          }
        }
      });
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => server.listen(peer.path, resolve));
    return peer;
  }

  /** Send one JSON message, CRLF-terminated as QEMU does. */
  send(message: unknown): void {
    this.sendRaw(JSON.stringify(message) + "\r\n");
  }

  sendRaw(text: string): void {
    this.socket?.write(text);
  }

  async close(): Promise<void> {
    this.socket?.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
