/**
 * What makes two QEMU crashes the same bug: the signal, and the most precise place the evidence
 * gives — the assertion (or glib error) QEMU printed, else the first frame of a printed stack, else
 * where the kernel saw the segfault — with file paths cut to their base name and numbers (line
 * numbers, addresses) written `N`, so a rebuild or another checkout does not split one bug in two.
 * Without any of these only the command QEMU died in tells crashes apart.
 */
import type { ExitStatus } from "../engines/engine.js";
import { exitSummary } from "../engines/errors.js";

export interface CrashSignature {
  /** "SIGABRT", "SIGSEGV", or "exit code 1". */
  signal: string;
  /** The QMP command QEMU died in ("quit" for a crash at quit). */
  command: string;
  /** The normalized assertion text or first stack frame QEMU printed, if any. */
  detail?: string;
  /** `binary+0xOFFSET` where the kernel saw the segfault, if it said (not normalized: it is the identity). */
  site?: string;
  /** The raw line the detail came from, for people. */
  evidence?: string;
}

const ASSERTION = /Assertion `.*' failed|code should not be reached|\bERROR:.*|Unexpected error in .*|assertion failed.*/;
const FRAME = /^\s*#\d+\s+(?:0x[0-9a-f]+\s+in\s+)?([A-Za-z_][\w:.~<>]*)/m;

/** Paths to base names, numbers (decimal or hex) to N. */
export function normalizeCrashText(text: string): string {
  return text
    .replace(/(?:\.{0,2}\/)?(?:[\w.+-]+\/)+([\w.+-]+)/g, "$1")
    .replace(/\b0x[0-9a-fA-F]+\b/g, "N")
    .replace(/\b\d+\b/g, "N")
    .trim();
}

/** The line of a QEMU log that says why it died, without the program-name prefix. */
function assertionLine(log: string): string | undefined {
  for (const line of log.split("\n")) {
    if (ASSERTION.test(line)) return line.slice(prefixEnd(line)).trim();
  }
  return undefined;
}

/** Where "qemu-storage-daemon: " (the program name glibc prefixes) ends, or 0. */
function prefixEnd(line: string): number {
  const m = /^[\w.+-]+: (?=\S)/.exec(line);
  return m ? m[0].length : 0;
}

/** The signature of a crash from what the engine reported. */
export function crashSignature(args: { exit: ExitStatus | undefined; command: string; log: string; site?: string }): CrashSignature {
  const sig: CrashSignature = { signal: exitSummary(args.exit), command: args.command };
  const assertion = assertionLine(args.log);
  const frame = FRAME.exec(args.log)?.[1];
  if (assertion !== undefined) {
    sig.detail = normalizeCrashText(assertion);
    sig.evidence = assertion;
  } else if (frame !== undefined) {
    sig.detail = `in ${frame}`;
    sig.evidence = frame;
  }
  if (args.site !== undefined) sig.site = args.site;
  return sig;
}

/** The dedup key: signal plus the most precise evidence there is. */
export function crashKey(s: CrashSignature): string {
  return `${s.signal} ${s.detail ?? (s.site !== undefined ? `at ${s.site}` : `in ${s.command}`)}`;
}

/**
 * Whether two crashes are the same bug. Equal keys are; and because the kernel rate-limits its
 * segfault lines, a crash without a recorded site matches one with a site when signal and command agree.
 */
export function sameCrash(a: CrashSignature, b: CrashSignature): boolean {
  if (a.signal !== b.signal) return false;
  if (a.detail !== undefined || b.detail !== undefined) return a.detail === b.detail;
  if (a.site !== undefined && b.site !== undefined) return a.site === b.site;
  return a.command === b.command;
}

/** One line for people: `SIGABRT in blockdev-reopen: io.c:N: …` */
export function describeCrash(s: CrashSignature): string {
  const where = s.evidence ?? (s.site !== undefined ? `at ${s.site}` : undefined);
  return `${s.signal} in ${s.command}${where !== undefined ? `: ${where}` : ""}`;
}
