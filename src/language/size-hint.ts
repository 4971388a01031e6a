/**
 * Sizes are a number with an optional k, K, M, G or T (powers of 1024). A size written with a unit
 * blockcheck does not know (`1m`, `64KiB`, `1GB`) is a common slip; this says what was meant.
 */

const VALID = /^-?[0-9]+[kKMGT]?$/;
const NEAR = /^(-?[0-9]+)([kKmMgGtT])(?:i?[bB])?$/;

/** The size `text` most likely means (`1m` → `1M`), or undefined when it is valid or not a size. */
export function sizeCorrection(text: string): string | undefined {
  if (VALID.test(text)) return undefined;
  const m = NEAR.exec(text);
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase() === "k" ? "k" : m[2]!.toUpperCase();
  return `${m[1]}${unit}`;
}

/** The note for a mistyped size, or [] when `text` is not one. */
export function sizeNotes(text: string): string[] {
  const fixed = sizeCorrection(text);
  return fixed ? [`did you mean '${fixed}'? a size takes k, M, G or T (powers of 1024)`] : [];
}
