/**
 * HMP qemu-io on a node in an iothread (QEMU 7.2): hmp_qemu_io runs in the main thread and holds
 * the node's AioContext. `read` and `write` wait for their request through the block layer's
 * polling, which lets go of that lock, and answer; `write -z` polls the iothread's context itself
 * (do_co_pwrite_zeroes → aio_poll) and fails aio_poll's home-thread assertion; `readv` and `writev`
 * run the main loop until a request the iothread can never run completes, and hang. The model does
 * the same, and refuses `aio_read`/`aio_write` there, whose outcome on QEMU depends on timing.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(20_000);

/**
 * A qcow2 node moved into an iothread by an export, then `command` on it. With fixed-iothread=on,
 * a plain write and read come first. Without it, they would take the node back to the main loop:
 * qemu-io's BlockBackend goes after each command, and the node follows the main loop when nothing
 * refuses (bdrv_root_unref_child).
 */
function inIothread(command: string, fixed: boolean): string {
  return [
    'scenario "qemu-io in an iothread"',
    "require io",
    "image a.qcow2 qcow2 1M",
    "add a: qcow2 file=(file filename=a.qcow2)",
    "iothread io0",
    `export a writable iothread=io0 fixed-iothread=${fixed ? "on" : "off"}`,
    ...(fixed ? ['io a "write -P 0x11 0 4k"', 'io a "read -P 0x11 0 4k"'] : []),
    `io a "${command}"`,
    "",
  ].join("\n");
}

const end = (command: string, line: string) => `io a "${command}"\n  ${line}\n(run stopped)\n`;

describe("qemu-io on a node in an iothread, on the model", () => {
  for (const fixed of [true, false]) {
    it(`write -z fails aio_poll's assertion (fixed-iothread=${fixed})`, async () => {
      const r = await run(inIothread("write -z 0 64k", fixed), new ModelEngine());
      expect(r.transcript!.endsWith(end("write -z 0 64k", "QEMU crashed: SIGABRT"))).toBe(true);
      expect(r.failures[0]!.message).toContain("aio_poll: Assertion `in_aio_context_home_thread(");
    });

    for (const command of ["readv 0 4k", "writev 0 4k"]) {
      it(`${command.split(" ")[0]} hangs (fixed-iothread=${fixed})`, async () => {
        const r = await run(inIothread(command, fixed), new ModelEngine());
        expect(r.transcript!.endsWith(end(command, "QEMU hung and was killed"))).toBe(true);
        expect(r.failures[0]!.message).toMatch(/^E_QEMU_WOULD_HANG: /);
      });
    }
  }

  it("refuses aio_read and aio_write, whose outcome depends on timing", async () => {
    for (const command of ["aio_read 0 4k", "aio_write 0 4k", "aio_write -z 0 4k"]) {
      const r = await run(inIothread(command, true), new ModelEngine());
      expect(r.failures[0]!.message).toMatch(/^E_MODEL_IO_UNSUPPORTED: .*on a node in an iothread/);
    }
  });

  it("answers once a command's BlockBackend took a node that may move back to the main loop", async () => {
    const text = inIothread("read 0 4k", false) + ["expect context a main", 'io a "write -z 0 64k"', 'io a "readv 0 4k"', ""].join("\n");
    const r = await run(text, new ModelEngine());
    expect(r.failures).toEqual([]);
  });

  it("answers all of them in the main loop", async () => {
    const text = inIothread("write -z 0 64k", true).replace("export a writable iothread=io0 fixed-iothread=on\n", "") + ['io a "readv 0 4k"', 'io a "writev 0 4k"', ""].join("\n");
    const r = await run(text, new ModelEngine());
    expect(r.failures).toEqual([]);
  });
});

describeWithQemu("qemu-io on a node in an iothread, on QEMU", () => {
  it("a node that may move is back in the main loop after one command", { timeout: 30_000 }, async () => {
    const text = inIothread("read 0 4k", false) + ["expect context a main", 'io a "write -z 0 64k"', ""].join("\n");
    const qemu = await run(text, new QemuEngine());
    expect(qemu.failures).toEqual([]);
    expect(qemu.transcript).toBe((await run(text, new ModelEngine())).transcript);
  });

  for (const command of ["write -z 0 64k", "readv 0 4k"]) {
    it(`'${command}': QEMU 7.2 ends the way the model says`, { timeout: 60_000 }, async () => {
      const text = inIothread(command, true);
      const model = await run(text, new ModelEngine());
      const qemu = await run(text, new QemuEngine({ callTimeoutMs: 3_000 }));
      expect(qemu.transcript).toBe(model.transcript);
    });
  }
});
