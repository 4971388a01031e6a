/**
 * Whether a qemu-io command failed, read from its output alone. HMP's `qemu-io` throws away the
 * return value of `qemuio_command` (block/monitor/block-hmp-cmds.c `hmp_qemu_io`), so the output is
 * all either engine can show, and the same text must give the same outcome on both.
 *
 * What qemu-io prints comes down two channels, which the raw output keeps apart by its line ends:
 *
 * - QEMU's stdout and stderr (`printf`/`fprintf` in qemu-io-cmds.c): lines ending in `\n`. A command
 *   that fails says so in one of the forms listed below, all taken from qemu-io-cmds.c of 7.2.
 * - the monitor (`error_report`, `error_report_err` and `hmp_handle_error`, whose text HMP returns
 *   as the reply): lines ending in `\r\n`. qemu-io sends nothing but errors there (a permission the
 *   temporary BlockBackend could not take, a node that does not exist), except `info`, whose
 *   format-specific dump goes through `qemu_printf` and so to the monitor too, and warnings
 *   (`warn_report`, "warning: …").
 *
 * The step's error message is the first failing line; every line stays in the transcript.
 */
import type { Outcome } from "../expectation.js";

/** One line of qemu-io output and the channel it came down. */
export interface IoLine {
  text: string;
  /** Printed through the monitor (HMP's reply) rather than on QEMU's stdout or stderr. */
  monitor: boolean;
}

/** Failures qemu-io reports on stdout or stderr (qemu-io-cmds.c and glibc's getopt). */
const FAILURE_FORMS: readonly RegExp[] = [
  // read_f, write_f, readv_f, writev_f, aio_*_done, discard_f, alloc_f: "<op> failed: <strerror>".
  /^\S+ failed: /,
  /^Pattern verification failed at offset -?\d+, \d+ bytes$/,
  // qemuio_command: an unknown command; help_f: an unknown command to explain.
  /^command ".*" not found$/,
  /^command \S+ not found$/,
  /^bad argument count \d+ to \S+, expected /,
  /^no file open, try 'help open'$/,
  // getopt's own messages, prefixed with the command name (argv[0]).
  /^\S+: (invalid option|option requires an argument|unrecognized option) /,
  // print_cvtnum_err, parse_pattern, sleep_f.
  /^Parsing error: /,
  / is not a valid pattern byte$/,
  / is not a valid number$/,
  /^length cannot exceed \d+/,
  /^pattern verification range exceeds end of read data$/,
  /^-?\d+ is not a sector-aligned value for '(offset|count)'$/,
  /^-\w (and -\w (or -\w )?cannot be specified at the same time|requires -\w to be specified|supports only a single length parameter)$/,
  /^-z and -P cannot be specified at the same time$/,
  /^Only one of -z, -P, and -s can be specified at the same time$/,
  /^Argument '.*' exceeds maximum size \d+$/,
  /^The total number of bytes exceed the maximum size \d+$/,
  /^getlength: /,
  /^Could not (set breakpoint|remove breakpoint \S+|resume request): /,
  /^signal argument '.*' is too large to be a valid signal$/,
  /: file is empty$/,
];

/** `qemuio_command_usage`: "NAME ARGS -- ONELINE", printed alone when the arguments do not fit. */
const USAGE_LINE = /^[a-z_]+ .* -- .+$/;

/** Commands whose output is help text, where a usage line is the answer and not a complaint. */
const HELP_COMMANDS = new Set(["help", "?"]);

/** Commands that print through the monitor when they succeed (info's ImageInfoSpecific dump). */
const MONITOR_OUTPUT_COMMANDS = new Set(["info", "i"]);

/** Raw output → lines with their channel; `\r\n` marks the monitor's, the last empty piece goes. */
export function splitIoOutput(raw: string): IoLine[] {
  const pieces = raw.split("\n");
  if (pieces[pieces.length - 1] === "") pieces.pop();
  return pieces.map((p) => (p.endsWith("\r") ? { text: p.slice(0, -1), monitor: true } : { text: p, monitor: false }));
}

/** The command's name as qemu-io's `breakline` finds it: the first word split at spaces. */
function commandName(command: string): string {
  return command.split(" ").find((w) => w !== "") ?? "";
}

/** Whether `line` says the command failed. */
function isFailure(name: string, line: IoLine): boolean {
  // warn_report's lines are not failures (a suffix on a hex number is only deprecated).
  if (line.monitor) return !MONITOR_OUTPUT_COMMANDS.has(name) && !line.text.startsWith("warning: ");
  if (FAILURE_FORMS.some((re) => re.test(line.text))) return true;
  return !HELP_COMMANDS.has(name) && USAGE_LINE.test(line.text);
}

/** The outcome of one qemu-io command: failed with its first failing line, or succeeded. */
export function ioOutcome(command: string, lines: readonly IoLine[]): Outcome {
  const name = commandName(command);
  const failed = lines.find((l) => isFailure(name, l));
  return failed ? { ok: false, desc: failed.text } : { ok: true };
}
