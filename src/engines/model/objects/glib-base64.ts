/**
 * Base64 as QEMU decodes it (util/base64.c `qbase64_decode` over glib's `g_base64_decode`). glib
 * is not Node's decoder: it skips characters outside the alphabet, emits bytes only for whole
 * four-character groups (a trailing partial group is dropped, so "YWJ" decodes to nothing) and
 * leaves out a byte where its group ends in '='.
 */
import { fail } from "../qmp-failure.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/** util/base64.c's `base64_valid_chars`. */
const VALID = new Set([...ALPHABET, "=", "\n"]);

/** glib's `mime_base64_rank`: '=' ranks 0, characters outside the alphabet are skipped. */
function rank(c: string): number | undefined {
  if (c === "=") return 0;
  const r = ALPHABET.indexOf(c);
  return r < 0 ? undefined : r;
}

/** `g_base64_decode_step` over the whole input. */
export function gBase64Decode(text: string): Buffer {
  const out: number[] = [];
  let v = 0;
  let count = 0;
  let last0 = "";
  let last1 = "";
  for (const c of text) {
    const r = rank(c);
    if (r === undefined) continue;
    last1 = last0;
    last0 = c;
    v = ((v << 6) | r) & 0xffffff;
    if (++count === 4) {
      out.push((v >> 16) & 0xff);
      if (last1 !== "=") out.push((v >> 8) & 0xff);
      if (last0 !== "=") out.push(v & 0xff);
      count = 0;
    }
  }
  return Buffer.from(out);
}

/** `qbase64_decode`: only base64 characters (and newlines) are allowed, no NUL inside. Throws QmpFailure. */
export function qbase64Decode(text: string): Buffer {
  if (text.includes("\0")) fail("Base64 data contains embedded NUL characters");
  for (const c of text) if (!VALID.has(c)) fail("Base64 data contains invalid characters");
  return gBase64Decode(text);
}
