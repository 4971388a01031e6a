/**
 * Reading a qemu-io command's outcome from its output (src/runner/steps/io-outcome.ts), on what
 * real QEMU 7.2 printed (fixtures/outputs.json): the failing line is the message, everything else
 * succeeded, whichever channel (log or monitor) it came down.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ioOutcome, splitIoOutput } from "../../../src/runner/steps/io-outcome.js";
import type { SessionRecord } from "./run-session.js";

const recorded = JSON.parse(readFileSync(new URL("./fixtures/outputs.json", import.meta.url), "utf8")) as { sessions: SessionRecord[] };
const outputs = recorded.sessions.flatMap((s) => s.steps.flatMap((st) => ("output" in st ? [{ node: st.io, command: st.command, output: st.output }] : [])));

function outcomeOf(node: string, command: string): ReturnType<typeof ioOutcome> {
  const found = outputs.find((o) => o.node === node && o.command === command);
  if (!found) throw new Error(`no recording of ${node} "${command}"`);
  return ioOutcome(command, splitIoOutput(found.output));
}

describe("the outcome of a qemu-io command", () => {
  it("is an error with qemu-io's own line when the command failed", () => {
    const cases: [string, string, string][] = [
      ["q", "read -P 0x5a 0 4k", "Pattern verification failed at offset 0, 4096 bytes"],
      ["q", "read -q -P 2 0 4k", "Pattern verification failed at offset 0, 4096 bytes"],
      ["q", "aio_read -P 4 256k 4k", "Pattern verification failed at offset 262144, 4096 bytes"],
      ["q", "read -P 0xa5 1M 4k", "read failed: Input/output error"],
      ["q", "aio_write -P 5 1M 4k", "aio_write failed: Input/output error"],
      ["q", "write -c 0 64k", "write failed: Input/output error"],
      ["q", "write -c 64k 512", "write failed: Invalid argument"],
      ["q", "frob", 'command "frob" not found'],
      ["q", "read", "bad argument count 0 to read, expected at least 2 arguments"],
      ["q", "read -x 0 1", "read: invalid option -- 'x'"],
      ["q", "read 0 1 -P", "read: option requires an argument -- 'P'"],
      ["q", "read -P 0x1ff 0 1", "0x1ff is not a valid pattern byte"],
      ["q", "read 0 abc", "Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- abc"],
      ["q", "read 0 99999999999999999999", "Parsing error: argument too large -- 99999999999999999999"],
      ["q", "read 0 1 2", "read [-abCqv] [-P pattern [-s off] [-l len]] off len -- reads a number of bytes at a specified offset"],
      ["q", "read -P 0xa5 -s 5k 0 4k", "pattern verification range exceeds end of read data"],
      ["q", "write -z -P 1 0 4k", "Only one of -z, -P, and -s can be specified at the same time"],
      ["q", "write -u 0 4k", "-u requires -z to be specified"],
      ["q", "write -c 100 64k", "100 is not a sector-aligned value for 'offset'"],
      ["q", "aio_write -z 320k 4k 4k", "-z supports only a single length parameter"],
      ["q", "sleep abc", "abc is not a valid number"],
      ["q", "help nosuch", "command nosuch not found"],
      ["nosuch", "read 0 512", "Error: Cannot find device='' nor node-name='nosuch'"],
      ["qf", "write 0 4k", "Permission conflict on node 'qf': permissions 'write' are both required by an unnamed block device (uses node 'qf' as 'root' child) and unshared by node 'q' (uses node 'qf' as 'file' child)."],
      ["r", "write 0 4k", "Block node is read-only"],
      ["r", "discard 0 4k", "Block node is read-only"],
      ["x", "write -c 192k 64k", "write failed: Operation not supported"],
    ];
    for (const [node, command, desc] of cases) expect(outcomeOf(node, command), command).toEqual({ ok: false, desc });
  });

  it("succeeds for everything else, help and warnings included", () => {
    for (const command of ["write -P 0xa5 0 64k", "read 0 4k -P 0xa5", "read 0x1k 512", "read -v 0 20", "read -C 0 4k", "write -q -P 1 128k 4k", "map", "alloc 1M", "help", "help read", "length", "sleep 1", "flush", "aio_flush", ""]) {
      expect(outcomeOf("q", command), command).toEqual({ ok: true });
    }
    expect(outcomeOf("r", "read -P 0 0 4k")).toEqual({ ok: true });
  });

  it("tells the monitor's lines by their ends", () => {
    expect(splitIoOutput("read 1/1 bytes at offset 0\nwarning: x\r\nBlock node is read-only\r\n")).toEqual([
      { text: "read 1/1 bytes at offset 0", monitor: false },
      { text: "warning: x", monitor: true },
      { text: "Block node is read-only", monitor: true },
    ]);
    expect(ioOutcome("info", splitIoOutput("format name: qcow2\n    compat: 1.1\r\n"))).toEqual({ ok: true });
  });
});
