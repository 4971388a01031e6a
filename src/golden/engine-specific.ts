/**
 * Engine-specific goldens document an intentional divergence: their first line is
 * `# reason: WHY`, and the rest is the transcript.
 */

const REASON = /^# reason: (\S.*)\n/;

export interface SplitGolden {
  /** The documented reason, or undefined when the first line is not a reason comment. */
  reason?: string;
  /** The transcript part. */
  transcript: string;
}

/** Separate the reason line from the transcript of an engine-specific golden. */
export function splitEngineGolden(text: string): SplitGolden {
  const m = REASON.exec(text);
  return m ? { reason: m[1]!.trim(), transcript: text.slice(m[0].length) } : { transcript: text };
}

/** Compose an engine-specific golden file. */
export function joinEngineGolden(reason: string, transcript: string): string {
  return `# reason: ${reason}\n${transcript}`;
}
