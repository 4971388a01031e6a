import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { QmpClient } from "../../src/qmp/client.js";
import {
  QmpDisconnectedError,
  QmpEventTimeoutError,
  QmpProtocolError,
  QmpStateError,
  QmpTimeoutError,
} from "../../src/qmp/errors.js";
import { connectUnixSocket, streamTransport } from "../../src/qmp/transport.js";
import { FakePeer, GREETING, type FakePeerOptions } from "./fake-peer.js";

const call = { timeoutMs: 2_000 };
let peer: FakePeer | undefined;
let client: QmpClient | undefined;

afterEach(async () => {
  client?.close();
  await peer?.close();
  peer = client = undefined;
});

async function connected(opts: FakePeerOptions): Promise<{ peer: FakePeer; client: QmpClient }> {
  peer = await FakePeer.start(opts);
  client = new QmpClient();
  await client.connect(await connectUnixSocket(peer.path), { timeoutMs: 2_000 });
  return { peer, client };
}

describe("QmpClient against a fake peer", () => {
  it("reads the greeting, negotiates, and maps replies to calls by id", async () => {
    const { peer, client } = await connected({
      onCommand: (cmd, p) => {
        if (cmd.execute === "echo") p.send({ return: cmd.arguments, id: cmd.id });
        else p.send({ error: { class: "CommandNotFound", desc: `The command ${cmd.execute} has not been found` }, id: cmd.id });
      },
    });
    expect(client.state).toBe("running");
    expect(client.greeting).toEqual(GREETING);
    expect(peer.received[0]).toMatchObject({ execute: "qmp_capabilities" });
    const [a, b] = await Promise.all([client.execute("echo", { x: 1 }, call), client.execute("nope", undefined, call)]);
    expect(a).toEqual({ return: { x: 1 } });
    // A QMP error is an ordinary reply, not an exception.
    expect(b).toEqual({ error: { class: "CommandNotFound", desc: "The command nope has not been found" } });
    expect(peer.received[2]).not.toHaveProperty("arguments");
  });

  it("answers out-of-order replies to the right callers", async () => {
    const held: { id?: string; n: unknown }[] = [];
    const { client } = await connected({
      onCommand: (cmd, p) => {
        held.push({ id: cmd.id, n: cmd.arguments?.n });
        if (held.length === 2) for (const h of held.reverse()) p.send({ return: h.n, id: h.id });
      },
    });
    const replies = await Promise.all([client.execute("x", { n: 1 }, call), client.execute("x", { n: 2 }, call)]);
    expect(replies).toEqual([{ return: 1 }, { return: 2 }]);
  });

  it("queues events interleaved with replies apart from them", async () => {
    const { client } = await connected({
      onCommand: (cmd, p) => {
        p.sendRaw(
          JSON.stringify({ event: "A", data: { n: 1 }, timestamp: { seconds: 1, microseconds: 2 } }) + "\r\n" +
            JSON.stringify({ return: {}, id: cmd.id }).slice(0, 5),
        );
        setTimeout(() => {
          p.sendRaw(JSON.stringify({ return: {}, id: cmd.id }).slice(5) + "\r\n");
          p.send({ event: "B" });
        }, 10);
      },
    });
    expect(await client.execute("go", undefined, call)).toEqual({ return: {} });
    expect(await client.waitEvent("B", 1_000)).toEqual({ event: "B" });
    expect(client.takeEvents()).toEqual([{ event: "A", data: { n: 1 }, timestamp: { seconds: 1, microseconds: 2 } }]);
    expect(client.takeEvents()).toEqual([]);
    await expect(client.waitEvent("C", 20)).rejects.toBeInstanceOf(QmpEventTimeoutError);
  });

  it("times out a call the peer stalls on, and keeps the connection usable", async () => {
    const stalled: string[] = [];
    const { peer, client } = await connected({
      onCommand: (cmd, p) => {
        if (cmd.execute === "stall") stalled.push(cmd.id!);
        else p.send({ return: "ok", id: cmd.id });
      },
    });
    const error = await client.execute("stall", undefined, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QmpTimeoutError);
    expect(error).toMatchObject({ code: "E_QMP_TIMEOUT", command: "stall" });
    peer.send({ return: "late", id: stalled[0] }); // a late reply is dropped, not a protocol error
    expect(await client.execute("fine", undefined, call)).toEqual({ return: "ok" });
    expect(client.state).toBe("running");
  });

  it("fails every pending call with one QmpDisconnectedError when the peer closes mid-reply", async () => {
    const { client } = await connected({
      onCommand: (cmd, p) => {
        if (p.received.length === 3) {
          p.sendRaw('{"return": {"half": ');
          setTimeout(() => p.socket?.end(), 10);
        }
      },
    });
    const results = await Promise.allSettled([
      client.execute("a", undefined, call),
      client.execute("b", undefined, call),
    ]);
    const errors = results.map((r) => (r.status === "rejected" ? r.reason : undefined));
    expect(errors[0]).toBeInstanceOf(QmpDisconnectedError);
    expect(errors[0]).toBe(errors[1]);
    expect((errors[0] as Error).message).toMatch(/middle of a message/);
    expect(client.state).toBe("closed");
    // Later calls and event waits fail with the same error, at once.
    await expect(client.execute("c", undefined, call)).rejects.toBe(errors[0]);
    await expect(client.waitEvent("X", 10_000)).rejects.toBe(errors[0]);
  });

  it("treats garbage JSON as a fatal protocol error for all pending calls", async () => {
    const { client } = await connected({ onCommand: (_cmd, p) => p.sendRaw("{this is not json}\r\n") });
    const error = await client.execute("a", undefined, call).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QmpProtocolError);
    expect(error).toMatchObject({ code: "E_QMP_PROTOCOL" });
    expect((error as Error).message).toContain("{this is not json}");
    expect(client.state).toBe("closed");
  });

  it("rejects a reply nobody asked for", async () => {
    const { client } = await connected({ onCommand: (cmd, p) => p.send({ return: {}, id: "someone-else" }) });
    await expect(client.execute("a", undefined, call)).rejects.toBeInstanceOf(QmpProtocolError);
  });

  it("rejects a peer that does not greet with QMP", async () => {
    peer = await FakePeer.start({ greetingLine: '{"hello": 1}' });
    client = new QmpClient();
    const error = await client.connect(await connectUnixSocket(peer.path), { timeoutMs: 1_000 }).catch((e) => e);
    expect(error).toBeInstanceOf(QmpProtocolError);
    expect(client.state).toBe("closed");
  });

  it("bounds the negotiation by the caller's timeout", async () => {
    peer = await FakePeer.start({ greetingLine: "" });
    client = new QmpClient();
    const error = await client.connect(await connectUnixSocket(peer.path), { timeoutMs: 50 }).catch((e) => e);
    expect(error).toBeInstanceOf(QmpTimeoutError);
  });

  it("fails to connect to a socket nobody listens on", async () => {
    await expect(connectUnixSocket("/nonexistent/blockcheck.sock")).rejects.toBeInstanceOf(QmpDisconnectedError);
  });

  it("guards its states", async () => {
    const c = new QmpClient();
    await expect(c.execute("x", undefined, call)).rejects.toBeInstanceOf(QmpStateError);
    expect(() => c.greeting).toThrow(QmpStateError);
    const { client } = await connected({});
    await expect(client.connect(streamTransport(new PassThrough(), new PassThrough()), call)).rejects.toBeInstanceOf(QmpStateError);
    client.close();
    client.close();
    expect(client.state).toBe("closed");
    await expect(client.execute("x", undefined, call)).rejects.toBeInstanceOf(QmpDisconnectedError);
  });
});

describe("QmpClient over a pair of streams", () => {
  it("speaks QMP over stdio-like streams", async () => {
    const toClient = new PassThrough();
    const toPeer = new PassThrough();
    toPeer.setEncoding("utf8");
    toPeer.on("data", (line: string) => {
      for (const text of line.split("\n").filter(Boolean)) {
        const cmd = JSON.parse(text) as { execute: string; id: string };
        toClient.write(JSON.stringify({ return: cmd.execute === "qmp_capabilities" ? {} : cmd.execute, id: cmd.id }) + "\n");
      }
    });
    const c = new QmpClient();
    const pending = c.connect(streamTransport(toClient, toPeer), call);
    toClient.write(JSON.stringify(GREETING) + "\n");
    await pending;
    expect(await c.execute("query-version", undefined, call)).toEqual({ return: "query-version" });
    toClient.end();
    await expect(c.waitEvent("X", 10_000)).rejects.toBeInstanceOf(QmpDisconnectedError);
  });

  it("aborts the negotiation on the caller's signal", async () => {
    const c = new QmpClient();
    const controller = new AbortController();
    const pending = c.connect(streamTransport(new PassThrough(), new PassThrough()), { timeoutMs: 10_000, signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(QmpDisconnectedError);
  });
});
