/**
 * Test helper: feed lines to a real `qemu-storage-daemon --chardev stdio,id=m --monitor m` and get
 * its raw output. The input ends with `quit`, and the daemon is killed after a timeout, so no
 * process outlives a test.
 */
import { execFileSync } from "node:child_process";
import { toQemuJson } from "../../src/monitor/json-writer.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const qsd = process.env.QSD_PROG ?? "qemu-storage-daemon";

/**
 * Raw stdout (QEMU writes CRLF line ends, decoded as UTF-8) for these input lines, after which `quit` is sent. The
 * daemon runs in `cwd`, or in a private temporary directory removed afterwards.
 */
export function runQsdStdio(lines: string[], opts: { cwd?: string; latin1?: boolean } = {}): string {
  // `latin1`: the lines are raw bytes (one char per byte), for input that is not valid UTF-8.
  const input = Buffer.from([...lines, '{"execute":"quit"}', ""].join("\n"), opts.latin1 ? "latin1" : "utf8");
  const cwd = opts.cwd ?? mkdtempSync(path.join(tmpdir(), "blockcheck-qsd-"));
  try {
    return execFileSync(qsd, ["--chardev", "stdio,id=m", "--monitor", "m"], {
      input,
      cwd,
      timeout: 20_000,
      killSignal: "SIGKILL",
    }).toString("utf8");
  } finally {
    if (!opts.cwd) rmSync(cwd, { recursive: true, force: true });
  }
}

/**
 * Replies to `commands` (JSON values; bigint for integers beyond 2^53), after the greeting and a
 * leading qmp_capabilities.
 */
export function qsdReplies(commands: unknown[]): Record<string, unknown>[] {
  const out = runQsdStdio(['{"execute":"qmp_capabilities"}', ...commands.map((c) => toQemuJson(c))]);
  const lines = out.split("\r\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>);
  // greeting, capabilities reply, the replies, then quit's reply and SHUTDOWN event
  return lines.slice(2, 2 + commands.length);
}
