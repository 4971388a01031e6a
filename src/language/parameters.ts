/**
 * Parameter references: `$fmt` in words, names and strings, bound by `each fmt in …`.
 *
 * `$$` is a literal `$`. `$TEST_DIR` is not a parameter: it is left for the runner, which writes
 * the scratch directory as `$TEST_DIR` in transcripts and error messages.
 */

/** Names that look like parameters but belong to the runner. */
export const RUNNER_VARIABLES: readonly string[] = ["TEST_DIR"];

const REFERENCE = /\$(\$|[A-Za-z_][A-Za-z0-9_]*)/g;

/** The parameter names `text` refers to (not `$$`, not runner variables). */
export function parameterNames(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(REFERENCE)) {
    const name = m[1]!;
    if (name !== "$" && !RUNNER_VARIABLES.includes(name)) out.push(name);
  }
  return out;
}

/** `text` with each bound `$name` replaced and `$$` made `$`; unbound names stay as written. */
export function substitute(text: string, bindings: Readonly<Record<string, string>>): string {
  if (!text.includes("$")) return text;
  return text.replace(REFERENCE, (whole, name: string) => {
    if (name === "$") return "$";
    return Object.hasOwn(bindings, name) ? bindings[name]! : whole;
  });
}
