/** The QMP client against real qemu-storage-daemon over stdio (`--chardev stdio`). */
import { execa } from "execa";
import { expect, it } from "vitest";
import { QmpClient } from "../../src/qmp/client.js";
import { QmpDisconnectedError } from "../../src/qmp/errors.js";
import { streamTransport } from "../../src/qmp/transport.js";
import { describeWithQemu } from "../support/qemu.js";

const qsd = process.env.QSD_PROG ?? "qemu-storage-daemon";

describeWithQemu("QmpClient over stdio with real QEMU", () => {
  it("negotiates, gets replies and errors, and sees the connection end on quit", async () => {
    const daemon = execa(qsd, ["--chardev", "stdio,id=m", "--monitor", "chardev=m"], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      buffer: false,
      reject: false,
      killSignal: "SIGKILL",
      timeout: 30_000,
    });
    const client = new QmpClient();
    try {
      const greeting = await client.connect(streamTransport(daemon.stdout, daemon.stdin), { timeoutMs: 10_000 });
      expect(greeting).toMatchObject({ QMP: { version: { qemu: { major: 7 } }, capabilities: ["oob"] } });
      const call = { timeoutMs: 10_000 };
      expect(await client.execute("query-version", undefined, call)).toMatchObject({ return: { qemu: { major: 7, minor: 2 } } });
      expect(await client.execute("blockdev-del", { "node-name": "x" }, call)).toEqual({
        error: { class: "GenericError", desc: "Failed to find node with node-name='x'" },
      });
      expect(await client.execute("quit", undefined, call)).toEqual({ return: {} });
      await expect(client.waitEvent("NEVER", 10_000)).rejects.toBeInstanceOf(QmpDisconnectedError);
      expect((await daemon).exitCode).toBe(0);
    } finally {
      client.close();
      daemon.kill();
    }
  });
});
