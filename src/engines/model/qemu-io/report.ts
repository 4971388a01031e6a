/**
 * qemu-io's statistics line (qemu-io-cmds.c `print_report`, `timestr`). The model's requests take
 * no time; its rates are computed for one nanosecond, so that they stay numbers ("inf" and "-nan"
 * are what C prints for zero time, and `_filter_qemu_io`, which transcripts apply, takes only
 * numbers and "inf"), as real QEMU's never-zero times give.
 */
import { cFixed, cvtstr } from "./numbers.js";
import type { QemuIoOutput } from "./output.js";

/** `timestr` for a duration in nanoseconds: "00.00 sec", or "H:MM:SS.ss" with -C or past a second. */
function timestr(ns: number, verbose: boolean): string {
  const sec = Math.floor(ns / 1e9);
  const frac = (ns % 1e9) / 1e9;
  const secs = cFixed((sec % 60) + frac, 2).padStart(5, "0");
  if (verbose || sec) return `${Math.floor(sec / 3600)}:${String(Math.floor((sec % 3600) / 60)).padStart(2, "0")}:${secs}`;
  return `${cFixed(frac, 2).padStart(5, "0")} sec`;
}

/** `print_report(op, t, offset, count, total, cnt, Cflag)`. */
export function printReport(out: QemuIoOutput, op: string, ns: number, offset: number, count: number, total: number, cnt: number, terse: boolean): void {
  ns = Math.max(ns, 1);
  const seconds = ns / 1e9;
  const ts = timestr(ns, terse);
  if (!terse) {
    out.line(`${op} ${total}/${count} bytes at offset ${offset}`);
    out.line(`${cvtstr(total)}, ${cnt} ops; ${ts} (${cvtstr(total / seconds)}/sec and ${cFixed(cnt / seconds, 4)} ops/sec)`);
  } else {
    out.line(`${total},${cnt},${ts},${cFixed(total / seconds, 3)},${cFixed(cnt / seconds, 3)}`);
  }
}

/** `dump_buffer`: 16 bytes a line, hex then printable characters. */
export function dumpBuffer(out: QemuIoOutput, buf: Buffer, offset: number): void {
  for (let i = 0; i < buf.length; i += 16) {
    const row = buf.subarray(i, Math.min(i + 16, buf.length));
    const hex = [...row].map((b) => `${b.toString(16).padStart(2, "0")} `).join("");
    const text = [...row].map((b) => (/[A-Za-z0-9]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : ".")).join("");
    out.line(`${(offset + i).toString(16).padStart(8, "0")}:  ${hex} ${text}`);
  }
}
