/** JSON parsing with errors that say file:line:col, and finding where a key is written. */
import { ConfigError } from "../errors.js";

/** JSON.parse, with a syntax error turned into a located ConfigError. */
export function parseJsonLocated(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    const where = m ? lineCol(text, Number(m[1])) : { line: 1, col: 1 };
    throw new ConfigError(`${file}:${where.line}:${where.col}: invalid JSON: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * `file:line:col` of the key at `keyPath` (outer keys first). It finds each key's first `"key":` after
 * the previous one's position — enough for configuration files, which have no repeated keys.
 */
export function locateKey(text: string, file: string, keyPath: readonly string[]): string {
  let pos = 0;
  for (const key of keyPath) {
    const re = new RegExp(`${JSON.stringify(key).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*:`, "g");
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) break;
    pos = m.index;
  }
  const { line, col } = lineCol(text, pos);
  return `${file}:${line}:${col}`;
}

function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const col = offset - before.lastIndexOf("\n");
  return { line, col };
}
