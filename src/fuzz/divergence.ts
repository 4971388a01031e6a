/**
 * Where QEMU's and the model's transcripts of one scenario part, and a key for it: the statement's
 * keyword and the two differing lines with node names, quoted names and numbers abstracted, so that
 * one model bug met in many shapes is found once (and a shrunk scenario still shows the same one).
 */

export interface Divergence {
  key: string;
  /** One line for people: the statement and both engines' lines. */
  summary: string;
  /** Index of the first differing transcript line. */
  line: number;
}

/** Node names (q0, c12, e3), quoted text and numbers become placeholders. */
function abstractLine(line: string): string {
  return line
    .trim()
    .replace(/'[^']*'/g, "'X'")
    .replace(/\b[a-z]+\d+\b/g, "X")
    .replace(/\b\d+\b/g, "N")
    .replace(/\s+/g, " ");
}

export function divergenceKey(qemu: string, model: string): Divergence {
  const q = qemu.split("\n");
  const m = model.split("\n");
  let i = 0;
  while (i < q.length && i < m.length && q[i] === m[i]) i++;
  // The statement a differing line belongs to: the last line at or before it that is neither output
  // nor inside (or closing) a `{ … }` block.
  let head = Math.min(i, q.length - 1);
  while (head > 0 && /^(\s|})/.test(q[head] ?? "")) head--;
  const statement = (q[head] ?? "").trim();
  const keyword = statement.split(/\s+/)[0] ?? "";
  const ql = q[i] ?? "(end)";
  const ml = m[i] ?? "(end)";
  return {
    key: `${keyword}: qemu ${abstractLine(ql)} / model ${abstractLine(ml)}`,
    summary: `after '${statement}': qemu '${ql.trim()}', model '${ml.trim()}'`,
    line: i,
  };
}
