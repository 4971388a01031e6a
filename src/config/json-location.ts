/**
 * JSON documents whose mistakes are reported as `file:line:col`: syntax errors at the character
 * where parsing stopped, and any key (`binaries.qemu-img`) where it is written. jsonc-parser (the
 * parser of VS Code's JSON support) gives every node's offset; JSON.parse gives neither, and its
 * error text differs between Node versions.
 */
import { findNodeAtLocation, parseTree, printParseErrorCode, type Node, type ParseError, ParseErrorCode } from "jsonc-parser";
import { ConfigError } from "../errors.js";

/** A parsed JSON document that can say where its keys are. */
export interface JsonDocument {
  value: unknown;
  /** `file:line:col` of the key at `keyPath` (outer keys first); of the enclosing object when absent. */
  where(keyPath: readonly string[]): string;
}

/** Parse strict JSON (no comments, no trailing commas); a syntax error is a located ConfigError. */
export function parseJsonDocument(text: string, file: string): JsonDocument {
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (first || !tree) {
    const at = lineCol(text, first?.offset ?? 0);
    throw new ConfigError(`${file}:${at.line}:${at.col}: invalid JSON: ${first ? describe(first.error) : "no value"}`);
  }
  // The value itself comes from JSON.parse, so that it is exactly what JSON means (duplicate keys,
  // numbers); jsonc-parser has already found every syntax error it would report.
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: invalid JSON: ${(e as Error).message}`, { cause: e });
  }
  return {
    value,
    where(keyPath) {
      const offset = keyOffset(tree, keyPath);
      const { line, col } = lineCol(text, offset);
      return `${file}:${line}:${col}`;
    },
  };
}

/** Offset of the key's name, or of the deepest enclosing value that exists. */
function keyOffset(tree: Node, keyPath: readonly string[]): number {
  for (let n = keyPath.length; n > 0; n--) {
    const value = findNodeAtLocation(tree, [...keyPath.slice(0, n)]);
    const key = value?.parent?.type === "property" ? value.parent.children?.[0] : undefined;
    if (key) return key.offset;
  }
  return tree.offset;
}

const MESSAGES: Partial<Record<ParseErrorCode, string>> = {
  [ParseErrorCode.InvalidSymbol]: "unexpected character",
  [ParseErrorCode.InvalidNumberFormat]: "invalid number",
  [ParseErrorCode.PropertyNameExpected]: "expected a property name in double quotes",
  [ParseErrorCode.ValueExpected]: "expected a value",
  [ParseErrorCode.ColonExpected]: "expected ':'",
  [ParseErrorCode.CommaExpected]: "expected ','",
  [ParseErrorCode.CloseBraceExpected]: "expected '}'",
  [ParseErrorCode.CloseBracketExpected]: "expected ']'",
  [ParseErrorCode.EndOfFileExpected]: "expected the end of the file",
  [ParseErrorCode.InvalidCommentToken]: "comments are not allowed in JSON",
  [ParseErrorCode.UnexpectedEndOfComment]: "comments are not allowed in JSON",
  [ParseErrorCode.UnexpectedEndOfString]: "unterminated string",
  [ParseErrorCode.UnexpectedEndOfNumber]: "unterminated number",
  [ParseErrorCode.InvalidUnicode]: "invalid \\u escape",
  [ParseErrorCode.InvalidEscapeCharacter]: "invalid escape character",
  [ParseErrorCode.InvalidCharacter]: "control character in a string",
};

function describe(code: ParseErrorCode): string {
  return MESSAGES[code] ?? `syntax error (${printParseErrorCode(code)})`;
}

function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const col = offset - before.lastIndexOf("\n");
  return { line, col };
}
