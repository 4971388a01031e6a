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

// Every outcome is one of these constants: the lexer runs once per input byte, and a fresh object per
// byte would be most of its cost.
const STATES: readonly State[] = ["start", "recovery", "dq", "dqEsc", "sq", "sqEsc", "zero", "sign", "digits", "mantissa", "mantissaDigits", "expE", "expSign", "expDigits", "keyword"];
const TOKEN_TYPES: readonly TokenType[] = ["lcurly", "rcurly", "lsquare", "rsquare", "colon", "comma", "integer", "float", "keyword", "string"];
const GO = Object.fromEntries(STATES.map((st) => [st, { state: st }])) as Record<State, Step>;
const RESTART: Step = { state: "start", lookahead: true };
const EMIT = Object.fromEntries(TOKEN_TYPES.map((t) => [t, { token: t }])) as Record<TokenType, Step>;
const EMIT_BEFORE = Object.fromEntries(TOKEN_TYPES.map((t) => [t, { token: t, lookahead: true }])) as Record<TokenType, Step>;
const ERROR: Step = { error: true };

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isLower = (c: number) => c >= 0x61 && c <= 0x7a;

/** The json_lexer[][] table as a function (QMP monitors run without interpolation). */
function transition(state: State, c: number): Step {
  switch (state) {
    case "recovery":
      if (c <= 0x1f && c !== 0x09) return RESTART;
      // The six structural characters are resynchronisation points.
      if (c >= 0xfe || c === 0x5b || c === 0x5d || c === 0x7b || c === 0x7d || c === 0x3a || c === 0x2c) return RESTART;
      return GO.recovery;
    case "dq":
    case "sq": {
      const quote = state === "dq" ? 0x22 : 0x27;
      if (c === quote) return EMIT.string;
      if (c === 0x5c) return state === "dq" ? GO.dqEsc : GO.sqEsc;
      return c >= 0x20 && c <= 0xfd ? GO[state] : ERROR;
    }
    case "dqEsc":
      return c >= 0x20 && c <= 0xfd ? GO.dq : ERROR;
    case "sqEsc":
      return c >= 0x20 && c <= 0xfd ? GO.sq : ERROR;
    case "zero":
      if (isDigit(c)) return ERROR;
      if (c === 0x2e) return GO.mantissa;
      return EMIT_BEFORE.integer; // no exponent right after a lone 0: "0e1" is 0, then keyword "e"
    case "expDigits":
      return isDigit(c) ? GO.expDigits : EMIT_BEFORE.float;
    case "expSign":
      return isDigit(c) ? GO.expDigits : ERROR;
    case "expE":
      if (c === 0x2d || c === 0x2b) return GO.expSign;
      return isDigit(c) ? GO.expDigits : ERROR;
    case "mantissaDigits":
      if (isDigit(c)) return GO.mantissaDigits;
      if (c === 0x65 || c === 0x45) return GO.expE;
      return EMIT_BEFORE.float;
    case "mantissa":
      return isDigit(c) ? GO.mantissaDigits : ERROR;
    case "digits":
      if (isDigit(c)) return GO.digits;
      if (c === 0x65 || c === 0x45) return GO.expE;
      if (c === 0x2e) return GO.mantissa;
      return EMIT_BEFORE.integer;
    case "sign":
      if (c === 0x30) return GO.zero;
      return c >= 0x31 && c <= 0x39 ? GO.digits : ERROR;
    case "keyword":
      return isLower(c) ? GO.keyword : EMIT_BEFORE.keyword;
    case "start":
      switch (c) {
        case 0x22: return GO.dq;
        case 0x27: return GO.sq;
        case 0x30: return GO.zero;
        case 0x2d: return GO.sign;
        case 0x7b: return EMIT.lcurly;
        case 0x7d: return EMIT.rcurly;
        case 0x5b: return EMIT.lsquare;
        case 0x5d: return EMIT.rsquare;
        case 0x2c: return EMIT.comma;
        case 0x3a: return EMIT.colon;
        case 0x20: case 0x09: case 0x0d: case 0x0a: return GO.start;
      }
      if (c >= 0x31 && c <= 0x39) return GO.digits;
      return isLower(c) ? GO.keyword : ERROR;
  }
}

/**
 * Feed bytes in; complete messages come out through `emit` in input order. Partial input stays
 * buffered between feeds, as in QEMU.
 *
 * A token's bytes are kept as slices of the input, not byte by byte: a 10 MB string costs about
 * twice its size while it is read, not seventy times.
 */
export class QmpJsonStreamer {
  private state: State = "start";
  /** Bytes of the current token that came in earlier feeds (copies: a caller may reuse its buffers). */
  private held: Buffer[] = [];
  private heldLength = 0;
  private tokens: Token[] = [];
  private tokenSize = 0;
  private braces = 0;
  private brackets = 0;

  constructor(private readonly emit: (message: StreamedMessage) => void) {}

  feed(bytes: Uint8Array): void {
    const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Where the current token's bytes in this feed begin (those before are in `held`).
    let begin = 0;
    for (let i = 0; i < input.length; i++) {
      const c = input[i]!;
      let consumed = false;
      while (!consumed) {
        const step = transition(this.state, c);
        consumed = !("lookahead" in step && step.lookahead);
        const end = consumed ? i + 1 : i;
        if ("error" in step) {
          this.processError(this.take(input, begin, end));
          begin = end;
          this.state = "recovery";
        } else if ("token" in step) {
          this.processToken(step.token, this.take(input, begin, end));
          begin = end;
          this.state = "start";
        } else {
          if (step.state === "start" || step.state === "recovery") {
            this.drop();
            begin = end;
          }
          this.state = step.state;
        }
      }
      if (this.heldLength + (i + 1 - begin) > MAX_TOKEN_SIZE) {
        // QEMU hands the oversized token on as whatever it is; the size check below rejects it.
        this.processToken("string", this.take(input, begin, i + 1));
        begin = i + 1;
        this.state = "start";
      }
    }
    if (begin < input.length) {
      this.held.push(Buffer.from(input.subarray(begin)));
      this.heldLength += input.length - begin;
    }
  }

  /** The current token: held bytes and input[begin, end); it is then empty. */
  private take(input: Buffer, begin: number, end: number): Buffer {
    const tail = input.subarray(begin, end);
    const text = this.held.length === 0 ? Buffer.from(tail) : Buffer.concat([...this.held, tail]);
    this.drop();
    return text;
  }

  private drop(): void {
    this.held = [];
    this.heldLength = 0;
  }

  /** json_message_process_token() for JSON_ERROR: QEMU prints the token with `%s`, so a NUL byte ends it. */
  private processError(text: Buffer): void {
    const nul = text.indexOf(0);
    const shown = nul < 0 ? text : text.subarray(0, nul);
    this.flushWith({ error: `JSON parse error, stray '${shown.toString("utf8")}'` });
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
