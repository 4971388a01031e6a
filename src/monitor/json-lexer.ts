/**
 * QEMU 7.2's QMP input framing: its JSON lexer (qobject/json-lexer.c) and message streamer
 * (qobject/json-streamer.c), byte for byte. QEMU does not read lines: it counts braces and brackets
 * and parses a message as soon as they balance, so a line with an unclosed `{` swallows the lines
 * after it, exactly as on a real monitor. A lexical error produces "JSON parse error, stray '…'"
 * and the lexer skips ahead to a structural or control character.
 */

/** Token types of json-lexer.h. */
export type TokenType = "lcurly" | "rcurly" | "lsquare" | "rsquare" | "colon" | "comma" | "integer" | "float" | "keyword" | "string";

/** One token, with its raw bytes (strings keep their quotes and escapes). */
export interface Token {
  type: TokenType;
  text: Buffer;
}

/** What the streamer hands on: a balanced token list to parse, or an error found before parsing. */
export type StreamedMessage = { tokens: Token[] } | { error: string };

const MAX_TOKEN_SIZE = 64 << 20;
const MAX_TOKEN_COUNT = 2 << 20;
const MAX_NESTING = 1024;

type State = "start" | "recovery" | "dq" | "dqEsc" | "sq" | "sqEsc" | "zero" | "sign" | "digits" | "mantissa" | "mantissaDigits" | "expE" | "expSign" | "expDigits" | "keyword";

/** Outcome of one transition: a next state, a token (emitted when `lookahead` leaves the byte unconsumed), or an error. */
type Step = { state: State; lookahead?: boolean } | { token: TokenType; lookahead?: boolean } | { error: true };

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isLower = (c: number) => c >= 0x61 && c <= 0x7a;

/** The json_lexer[][] table as a function (QMP monitors run without interpolation). */
function transition(state: State, c: number): Step {
  switch (state) {
    case "recovery":
      if (c <= 0x1f && c !== 0x09) return { state: "start", lookahead: true };
      // The six structural characters are resynchronisation points.
      if (c >= 0xfe || c === 0x5b || c === 0x5d || c === 0x7b || c === 0x7d || c === 0x3a || c === 0x2c) {
        return { state: "start", lookahead: true };
      }
      return { state: "recovery" };
    case "dq":
    case "sq": {
      const quote = state === "dq" ? 0x22 : 0x27;
      if (c === quote) return { token: "string" };
      if (c === 0x5c) return { state: state === "dq" ? "dqEsc" : "sqEsc" };
      return c >= 0x20 && c <= 0xfd ? { state } : { error: true };
    }
    case "dqEsc":
      return c >= 0x20 && c <= 0xfd ? { state: "dq" } : { error: true };
    case "sqEsc":
      return c >= 0x20 && c <= 0xfd ? { state: "sq" } : { error: true };
    case "zero":
      if (isDigit(c)) return { error: true };
      if (c === 0x2e) return { state: "mantissa" };
      return { token: "integer", lookahead: true }; // no exponent right after a lone 0: "0e1" is 0, then keyword "e"
    case "expDigits":
      return isDigit(c) ? { state: "expDigits" } : { token: "float", lookahead: true };
    case "expSign":
      return isDigit(c) ? { state: "expDigits" } : { error: true };
    case "expE":
      if (c === 0x2d || c === 0x2b) return { state: "expSign" };
      return isDigit(c) ? { state: "expDigits" } : { error: true };
    case "mantissaDigits":
      if (isDigit(c)) return { state: "mantissaDigits" };
      if (c === 0x65 || c === 0x45) return { state: "expE" };
      return { token: "float", lookahead: true };
    case "mantissa":
      return isDigit(c) ? { state: "mantissaDigits" } : { error: true };
    case "digits":
      if (isDigit(c)) return { state: "digits" };
      if (c === 0x65 || c === 0x45) return { state: "expE" };
      if (c === 0x2e) return { state: "mantissa" };
      return { token: "integer", lookahead: true };
    case "sign":
      if (c === 0x30) return { state: "zero" };
      return c >= 0x31 && c <= 0x39 ? { state: "digits" } : { error: true };
    case "keyword":
      return isLower(c) ? { state: "keyword" } : { token: "keyword", lookahead: true };
    case "start":
      switch (c) {
        case 0x22: return { state: "dq" };
        case 0x27: return { state: "sq" };
        case 0x30: return { state: "zero" };
        case 0x2d: return { state: "sign" };
        case 0x7b: return { token: "lcurly" };
        case 0x7d: return { token: "rcurly" };
        case 0x5b: return { token: "lsquare" };
        case 0x5d: return { token: "rsquare" };
        case 0x2c: return { token: "comma" };
        case 0x3a: return { token: "colon" };
        case 0x20: case 0x09: case 0x0d: case 0x0a: return { state: "start" };
      }
      if (c >= 0x31 && c <= 0x39) return { state: "digits" };
      return isLower(c) ? { state: "keyword" } : { error: true };
  }
}

/**
 * Feed bytes in; complete messages come out through `emit` in input order. Partial input stays
 * buffered between feeds, as in QEMU.
 */
export class QmpJsonStreamer {
  private state: State = "start";
  private token: number[] = [];
  private tokens: Token[] = [];
  private tokenSize = 0;
  private braces = 0;
  private brackets = 0;

  constructor(private readonly emit: (message: StreamedMessage) => void) {}

  feed(bytes: Uint8Array): void {
    for (const c of bytes) this.feedByte(c);
  }

  private feedByte(c: number): void {
    let consumed = false;
    while (!consumed) {
      const step = transition(this.state, c);
      consumed = !("lookahead" in step && step.lookahead);
      if (consumed) this.token.push(c);
      if ("error" in step) {
        this.processError(Buffer.from(this.token));
        this.token = [];
        this.state = "recovery";
      } else if ("token" in step) {
        this.processToken(step.token, Buffer.from(this.token));
        this.token = [];
        this.state = "start";
      } else {
        if (step.state === "start" || step.state === "recovery") this.token = [];
        this.state = step.state;
      }
    }
    if (this.token.length > MAX_TOKEN_SIZE) {
      // QEMU hands the oversized token on as whatever it is; the size check below rejects it.
      this.processToken("string", Buffer.from(this.token));
      this.token = [];
      this.state = "start";
    }
  }

  private processError(text: Buffer): void {
    this.flushWith({ error: `JSON parse error, stray '${text.toString("utf8")}'` });
  }

  private processToken(type: TokenType, text: Buffer): void {
    if (type === "lcurly") this.braces++;
    else if (type === "rcurly") this.braces--;
    else if (type === "lsquare") this.brackets++;
    else if (type === "rsquare") this.brackets--;
    if (this.tokenSize + text.length + 1 > MAX_TOKEN_SIZE) return this.flushWith({ error: "JSON token size limit exceeded" });
    if (this.tokens.length + 1 > MAX_TOKEN_COUNT) return this.flushWith({ error: "JSON token count limit exceeded" });
    if (this.braces + this.brackets > MAX_NESTING) return this.flushWith({ error: "JSON nesting depth limit exceeded" });
    this.tokens.push({ type, text });
    this.tokenSize += text.length;
    if ((this.braces > 0 || this.brackets > 0) && this.braces >= 0 && this.brackets >= 0) return;
    this.flushWith({ tokens: this.tokens });
  }

  private flushWith(message: StreamedMessage): void {
    this.braces = 0;
    this.brackets = 0;
    this.tokens = [];
    this.tokenSize = 0;
    this.emit(message);
  }
}
