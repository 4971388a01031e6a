/** Small formatting helpers shared by the reporters. */

/** `850ms`, `1.2s`, `2m05s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

/** `+12ms`, `-1.5s`, relative to the previous run. */
export function formatDelta(ms: number): string {
  return (ms >= 0 ? "+" : "-") + formatDuration(Math.abs(ms));
}

/** Indent every line of a block of text. */
export function indent(text: string, prefix: string): string {
  return text
    .replace(/\n$/, "")
    .split("\n")
    .map((l) => (l ? prefix + l : l))
    .join("\n");
}

/** Cut a line to a terminal width (ANSI-free text only). */
export function fitWidth(line: string, columns: number): string {
  return line.length <= columns ? line : line.slice(0, Math.max(0, columns - 1)) + "…";
}
