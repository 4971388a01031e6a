/**
 * QMP framing: QEMU writes one JSON object per line ("\r\n"-terminated). The decoder turns a byte stream
 * into parsed objects and reports anything else (bad JSON, a non-object, an absurdly long line) as a
 * protocol error rather than crashing or buffering without bound.
 */
import { StringDecoder } from "node:string_decoder";
import { QmpProtocolError } from "./errors.js";
import { QmpFloat } from "./wire.js";

/** A line longer than this is not QMP from any sane peer (QEMU's full schema is about 200 KiB). */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

export type JsonObject = Record<string, unknown>;

/** Incremental line decoder; feed it chunks, it returns the complete messages found so far. */
export class JsonLineDecoder {
  readonly #utf8 = new StringDecoder("utf8");
  #buffer = "";
  /** How far #buffer has been searched for "\n" already, so long lines are not rescanned per chunk. */
  #scanned = 0;

  /** Decode a chunk; throws QmpProtocolError on the first line that is not a JSON object. */
  push(chunk: Buffer | string): JsonObject[] {
    this.#buffer += typeof chunk === "string" ? chunk : this.#utf8.write(chunk);
    const messages: JsonObject[] = [];
    let start = 0;
    for (;;) {
      const end = this.#buffer.indexOf("\n", Math.max(start, this.#scanned));
      if (end < 0) break;
      const line = this.#buffer.slice(start, end).trim();
      start = end + 1;
      if (line.length > 0) messages.push(parseLine(line));
    }
    this.#buffer = this.#buffer.slice(start);
    this.#scanned = this.#buffer.length;
    if (this.#buffer.length > MAX_LINE_BYTES) {
      throw new QmpProtocolError(`a message exceeds ${MAX_LINE_BYTES} bytes without a line end`);
    }
    return messages;
  }

  /** Text received after the last complete line (a peer that closed mid-message leaves some). */
  get pending(): string {
    return this.#buffer;
  }
}

function parseLine(line: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (cause) {
    throw new QmpProtocolError(`not JSON: ${excerpt(line)}`, { cause });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new QmpProtocolError(`not a JSON object: ${excerpt(line)}`);
  }
  return value as JsonObject;
}

/** Encode one command for the wire. */
export function encodeMessage(message: JsonObject): string {
  return encodeJson(message) + "\n";
}

/**
 * JSON.stringify, except for what JSON.stringify cannot write as it came: a QmpFloat stays a float
 * (`1e3` is sent as `1000.0`, which QEMU reads as the double it was), and a bigint (an integer
 * beyond 2^53, as the monitor parses one) or a whole number beyond 2^53 is written in full.
 */
function encodeJson(value: unknown): string {
  if (value instanceof QmpFloat) {
    const text = JSON.stringify(value.value);
    return Object.is(value.value, -0) ? "-0.0" : /[.eE]/.test(text) ? text : `${text}.0`;
  }
  if (typeof value === "bigint") return value.toString();
  // JSON.stringify writes the shortest decimal that reads back as the double, which QEMU's parser
  // takes for another integer (2^56 as 72057594037927940); within 64 bits the exact value goes.
  if (typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value) && Math.abs(value) < 2 ** 64) return BigInt(value).toString();
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : encodeJson(v))).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const members = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${members.map(([k, v]) => `${JSON.stringify(k)}:${encodeJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function excerpt(text: string): string {
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text);
}
