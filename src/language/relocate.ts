/**
 * Moves the locations of an AST parsed from a piece of a file to where that piece sits in the file.
 * parse.ts parses a file piece by piece (statement-chunks.ts says why); each piece starts at the
 * beginning of a line, so columns stay as they are and only offsets and line numbers move.
 */
import type { Location, Position } from "./ast.js";

/** Where a piece starts in its file. */
export interface PieceStart {
  offset: number;
  /** 1-based line of the piece's first character. */
  line: number;
}

/**
 * Replaces every `location` and `keyLocation` under `root` (in place, iteratively: an AST may be
 * deep) with one moved by `by`. The values of JSON nodes are what a user wrote, not AST, and are
 * left alone even when they have a member called "location".
 */
export function relocate(root: unknown, by: PieceStart): void {
  // One Position per offset (a token's end is often the next one's start, a statement's start its
  // first token's): shared, they take a tenth less memory on a big file. Nothing writes to one.
  const positions = new Map<number, Position>();
  const move = (p: Position): Position => {
    const offset = p.offset + by.offset;
    let moved = positions.get(offset);
    if (!moved) {
      moved = { offset, line: p.line + by.line - 1, column: p.column };
      positions.set(offset, moved);
    }
    return moved;
  };
  const moved = (l: Location): Location => ({ source: l.source, start: move(l.start), end: move(l.end) });
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== "object") continue;
    if (Array.isArray(node)) {
      for (const item of node) stack.push(item);
      continue;
    }
    const n = node as Record<string, unknown>;
    for (const [k, v] of Object.entries(n)) {
      if (k === "location" || k === "keyLocation") {
        if (v && typeof v === "object") n[k] = moved(v as Location);
      }
      else if (!(k === "value" && n.type === "json")) stack.push(v);
    }
  }
}
