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

const IO_TIMING = /^(\S+ \S+, \d+ ops?); .*$/gm;

/** Normalize one piece of text (an error message, a reply, qemu-io output). */
export function normalizeText(text: string, opts: NormalizeOptions): string {
  let out = text;
  const dirs = [...new Set(opts.scratchDirs)].filter((d) => d.length > 1).sort((a, b) => b.length - a.length);
  for (const dir of dirs) out = out.split(dir.replace(/\/+$/, "")).join("$TEST_DIR");
  out = replaceAutoNames(out, (name) => opts.implicitNames?.get(name) ?? "#block?");
  return out;
}

/** qemu-io output with timings removed: `64 KiB, 1 ops; 00.00 sec (…)` → `64 KiB, 1 ops; XX:XX:XX.X (XXX YYY/sec and XXX ops/sec)`. */
export function normalizeIoOutput(text: string): string {
  return text.replace(IO_TIMING, "$1; XX:XX:XX.X (XXX YYY/sec and XXX ops/sec)");
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
