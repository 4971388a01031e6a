/**
 * The transcript document: the scenario's story, one block per step.
 *
 * ```
 * scenario "detaching an implicit backing file frees it"
 * each fmt=qcow2
 *
 * image top.qcow2 qcow2 1M
 *   ok
 *
 * ## build
 * add top: qcow2 file=(file filename=top.qcow2)
 *   ok
 * show graph
 *   top -backing-> top/backing  perm=[]  shared=[…]
 * reopen top backing=nosuch   -> error "Cannot find device='' nor node-name='nosuch'"
 *   error: Cannot find device='' nor node-name='nosuch'
 * ```
 *
 * The header holds the title and the parameter values, then a blank line; a phase (`## …`) starts
 * after a blank line (none between consecutive phase lines);
 * each step is its text as written (trailing blanks trimmed), then two-space-indented lines: the
 * outcome (`ok`, `error: DESC`, `return: JSON`) and whatever the step shows. The text ends with one
 * newline. Everything in it must already be normalized (see normalize.ts).
 */

export interface TranscriptBlock {
  /** The statement as written; may span several lines. */
  step: string;
  /** Whether the step starts a phase (`## …`). */
  phase?: boolean;
  /** Indented lines after the step: outcome first, then shown state. */
  output: string[];
}

export interface TranscriptHeader {
  title?: string;
  /** Parameter values of this run, in declaration order. */
  bindings: ReadonlyArray<readonly [string, string]>;
}

/** Render the whole transcript text. */
export function renderTranscript(header: TranscriptHeader, blocks: readonly TranscriptBlock[]): string {
  const lines: string[] = [];
  if (header.title !== undefined) lines.push(`scenario ${JSON.stringify(header.title)}`);
  if (header.bindings.length > 0) lines.push(`each ${header.bindings.map(([k, v]) => `${k}=${v}`).join(" ")}`);
  if (lines.length > 0) lines.push("");
  let previous: TranscriptBlock | undefined;
  for (const b of blocks) {
    // A phase starts after a blank line, unless it directly follows the header or another phase.
    if (b.phase && previous !== undefined && !previous.phase) lines.push("");
    previous = b;
    lines.push(...b.step.split("\n").map((l) => l.trimEnd()));
    lines.push(...b.output.flatMap((o) => o.split("\n")).map((o) => `  ${o}`.trimEnd()));
  }
  return lines.join("\n") + "\n";
}
