/**
 * Where a process segfaulted, from the kernel's log: Linux prints one line per unhandled SIGSEGV,
 *
 *   qemu-storage-da[11474]: segfault at 78 ip 00005593bcb92ea7 sp 00007ffc307ad550 error 4 in qemu-storage-daemon[e6ea7,5593bcb70000+161000]
 *
 * QEMU prints nothing when it segfaults, and Debian's binary has no symbols, so the faulting
 * instruction's offset in the binary (`qemu-storage-daemon+0xe6ea7`) is the best "first stack
 * frame" there is: two segfaults at one offset are one bug, whichever command they happened in.
 *
 * Best effort: /dev/kmsg may be unreadable (dmesg_restrict, containers), and the kernel
 * rate-limits these lines (10 per 5 s), so a crash may have no record. One reader is opened per
 * fuzz run and reads on from where it was, so each crash costs only the records since the last one.
 */
import { closeSync, constants, openSync, readSync } from "node:fs";

const RECORD = /\[(\d+)\]: segfault at \S+ ip ([0-9a-f]+) sp \S+ error \S+ in ([^[\s]+)\[(?:([0-9a-f]+),)?([0-9a-f]+)\+/;

/** `binary+0xOFFSET` from one kernel segfault line, with the pid it names; undefined if it is not one. */
export function parseSegfaultRecord(line: string): { pid: number; site: string } | undefined {
  const m = RECORD.exec(line);
  if (!m) return undefined;
  const [, pid, ip, binary, offset, base] = m;
  // Kernels before 6.1 print only the mapping's base; the offset is then ip - base.
  const off = offset !== undefined ? BigInt(`0x${offset}`) : BigInt(`0x${ip}`) - BigInt(`0x${base}`);
  return { pid: Number(pid), site: `${binary}+0x${off.toString(16)}` };
}

export class KernelCrashLog {
  #fd: number | undefined;
  readonly #sites = new Map<number, string>();
  readonly #buf = Buffer.alloc(8192);

  /** Open the kernel log and skip what is already in it; a log that cannot be read gives no sites. */
  static open(): KernelCrashLog {
    const log = new KernelCrashLog();
    try {
      log.#fd = openSync("/dev/kmsg", constants.O_RDONLY | constants.O_NONBLOCK);
      log.#drain();
      log.#sites.clear();
    } catch {
      log.close();
    }
    return log;
  }

  /** Where process `pid` segfaulted, if the kernel said so. */
  siteOf(pid: number): string | undefined {
    this.#drain();
    return this.#sites.get(pid);
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  /** Read every record not read yet (one record per read; EAGAIN when there is none). */
  #drain(): void {
    if (this.#fd === undefined) return;
    for (;;) {
      let n: number;
      try {
        n = readSync(this.#fd, this.#buf, 0, this.#buf.length, null);
      } catch (e) {
        // EPIPE: records were overwritten before we read them; reading goes on with the oldest left.
        if ((e as NodeJS.ErrnoException).code === "EPIPE") continue;
        return;
      }
      if (n <= 0) return;
      const record = this.#buf.toString("utf8", 0, n);
      const found = parseSegfaultRecord(record.slice(record.indexOf(";") + 1));
      if (found) this.#sites.set(found.pid, found.site);
    }
  }
}
