/**
 * Removing what differs between runs and engines from text that goes into a transcript: the scratch
 * directory becomes `$TEST_DIR`, QEMU's random auto names (`#block123`) become graph paths, and
 * qemu-io's timing line loses its numbers (as qemu-iotests' _filter_qemu_io does).
 */
import { replaceAutoNames } from "../graph-view/auto-name.js";

export interface NormalizeOptions {
  /** Absolute scratch directory paths (as given and as resolved), replaced by `$TEST_DIR`. */
  scratchDirs: readonly string[];
  /** `#block123` → `top/backing`; auto names not in the map become `#block?`. */
  implicitNames?: ReadonlyMap<string, string>;
}

/** `_filter_qemu_io`'s expression (tests/qemu-iotests/common.filter), once per line as sed does it. */
const IO_TIMING = /[0-9]* ops; [0-9/:. sec]* \([0-9/.inf]* [EPTGMKiBbytes]*\/sec and [0-9/.inf]* ops\/sec\)/;
/** `print_report` with -C: "bytes,ops,time,bytes/sec,ops/sec"; only the byte count is kept. */
const IO_TIMING_TERSE = /^(\d+),\d+,[0-9:.]+,[0-9.inf]+,[0-9.inf]+$/;

/** Normalize one piece of text (an error message, a reply, qemu-io output). */
export function normalizeText(text: string, opts: NormalizeOptions): string {
  let out = text;
  const dirs = [...new Set(opts.scratchDirs)].filter((d) => d.length > 1).sort((a, b) => b.length - a.length);
  for (const dir of dirs) out = out.split(dir.replace(/\/+$/, "")).join("$TEST_DIR");
  out = replaceAutoNames(out, (name) => opts.implicitNames?.get(name) ?? "#block?");
  return out;
}

/**
 * qemu-io output with timings removed, as `_filter_qemu_io` does: `64 KiB, 1 ops; 00.00 sec (…)` →
 * `64 KiB, X ops; XX:XX:XX.X (XXX YYY/sec and XXX ops/sec)`; the -C form keeps its byte count.
 */
export function normalizeIoOutput(text: string): string {
  return text
    .split("\n")
    .map((line) => line.replace(IO_TIMING, "X ops; XX:XX:XX.X (XXX YYY/sec and XXX ops/sec)").replace(IO_TIMING_TERSE, "$1,X,XX:XX:XX.X,XXX,XXX"))
    .join("\n");
}

/** JSON with object keys sorted recursively, so two engines' replies print alike. */
export function stableJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(obj)
        .sort()
        .map((k) => [k, sortKeys(obj[k])]),
    );
  }
  return value;
}
