/**
 * blkdebug's rules at run time (block/blkdebug.c): `add_rule`, `blkdebug_debug_event` with
 * `process_rule`, `rule_check`, and the breakpoint commands (`blkdebug_debug_breakpoint`,
 * `_remove_breakpoint`, `_resume`, `_is_suspended`).
 *
 * An event runs the rules registered for it whose state matches the node's (state 0: any): an
 * inject-error rule becomes active (the first one in an event empties the active list first), a
 * set-state rule sets the state the node has once the event is over, a breakpoint suspends the
 * request. A request then fails with the errno of the first active rule that covers its offset and
 * I/O type; a `once` rule goes away when it fires.
 *
 * A suspended request waits for `resume`, which HMP cannot send while its own qemu-io command waits
 * for that request: QEMU hangs there, and the model says it cannot follow (ModelIoUnsupportedError).
 */
import { ModelIoUnsupportedError } from "../data/io-error.js";
import type { RuleSection } from "./blkdebug-config.js";

/** BlkdebugIOType, in QAPI order (the bit of each in an iotype mask). */
const IO_TYPES = ["read", "write", "write-zeroes", "discard", "flush", "block-status"] as const;
export type BlkdebugIoType = (typeof IO_TYPES)[number];

/** add_rule's default mask: every type but block-status. */
const DEFAULT_IOTYPE_MASK = 0b11111;

const ENOENT = 2;
const EIO = 5;

type Rule =
  | { action: "inject"; event: string; state: number; errno: number; once: boolean; immediately: boolean; offset: number; iotypeMask: number }
  | { action: "set-state"; event: string; state: number; newState: number }
  | { action: "suspend"; event: string; state: number; tag: string };

type InjectRule = Extract<Rule, { action: "inject" }>;

/** qemu_opt_get_number: parse_option_number's strtou64 (base 0; a '-' wraps), as a signed 64-bit value. */
function optNumber(values: ReadonlyMap<string, string>, key: string, fallback: bigint): bigint {
  const text = values.get(key);
  if (text === undefined) return fallback;
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text)!;
  const digits = m[2]!;
  let v = /^0[xX]/.test(digits) ? BigInt(digits) : digits.length > 1 && digits[0] === "0" ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  if (m[1] === "-") v = -v;
  return BigInt.asIntN(64, v);
}

/** qemu_opt_get_bool. */
function optBool(values: ReadonlyMap<string, string>, key: string): boolean {
  const text = values.get(key);
  return text !== undefined && ["on", "yes", "true", "y"].includes(text);
}

/** An int-typed field (`int state`, `int error`) from a 64-bit number: C keeps the low 32 bits. */
const asInt = (v: bigint) => Number(BigInt.asIntN(32, v));

export class BlkdebugRules {
  /** s->state. */
  state = 1;
  /** s->rules[event], each list head first (QLIST_INSERT_HEAD). */
  readonly #rules = new Map<string, Rule[]>();
  /** s->active_rules, head first. */
  #active: InjectRule[] = [];

  /** `add_rule` for each section read by blkdebug-config.ts (whose checks they passed). */
  constructor(sections: readonly RuleSection[]) {
    for (const { group, values } of sections) {
      const event = values.get("event")!;
      const state = asInt(optNumber(values, "state", 0n));
      if (group === "set-state") {
        this.#insert({ action: "set-state", event, state, newState: asInt(optNumber(values, "new_state", 0n)) });
        continue;
      }
      const sector = optNumber(values, "sector", -1n);
      const iotype = values.get("iotype");
      this.#insert({
        action: "inject",
        event,
        state,
        errno: asInt(optNumber(values, "errno", BigInt(EIO))),
        once: optBool(values, "once"),
        immediately: optBool(values, "immediately"),
        offset: sector === -1n ? -1 : Number(sector * 512n),
        iotypeMask: iotype === undefined ? DEFAULT_IOTYPE_MASK : 1 << IO_TYPES.indexOf(iotype as BlkdebugIoType),
      });
    }
  }

  #insert(rule: Rule): void {
    const list = this.#rules.get(rule.event) ?? [];
    list.unshift(rule);
    this.#rules.set(rule.event, list);
  }

  #remove(rule: Rule): void {
    const list = this.#rules.get(rule.event);
    if (list) list.splice(list.indexOf(rule), 1);
  }

  /** Whether any rule could change what a request does (inject-error or set-state; breakpoints aside). */
  get acting(): boolean {
    for (const list of this.#rules.values()) if (list.some((r) => r.action !== "suspend")) return true;
    return this.#active.length > 0;
  }

  /** The events some rule waits for. */
  events(): string[] {
    return [...this.#rules].filter(([, list]) => list.length > 0).map(([event]) => event);
  }

  /** `blkdebug_debug_event`. */
  event(event: string): void {
    const list = this.#rules.get(event);
    if (!list) return;
    let newState = this.state;
    let injected = 0;
    for (const rule of [...list]) {
      if (rule.state && rule.state !== this.state) continue;
      if (rule.action === "inject") {
        if (++injected === 1) this.#active = [];
        this.#active.unshift(rule);
      } else if (rule.action === "set-state") {
        newState = rule.newState;
      } else {
        throw new ModelIoUnsupportedError(`a request suspended at blkdebug breakpoint '${rule.tag}' (QEMU waits for a resume that HMP cannot send meanwhile)`);
      }
    }
    this.state = newState;
  }

  /** The active rule `rule_check` applies to a request (the first that covers it), if any. */
  #matching(offset: number, bytes: number, iotype: BlkdebugIoType): InjectRule | undefined {
    const bit = 1 << IO_TYPES.indexOf(iotype);
    return this.#active.find((r) => (r.offset === -1 || (bytes > 0 && r.offset >= offset && r.offset < offset + bytes)) && r.iotypeMask & bit);
  }

  /** Whether `rule_check` would fail this request, without firing a `once` rule. */
  wouldFail(offset: number, bytes: number, iotype: BlkdebugIoType): boolean {
    return (this.#matching(offset, bytes, iotype)?.errno ?? 0) !== 0;
  }

  /** `rule_check`: the errno to fail the request with, or 0. */
  check(offset: number, bytes: number, iotype: BlkdebugIoType): number {
    return this.fire(offset, bytes, iotype).errno;
  }

  /**
   * `rule_check`, with whether the request fails at once or after a turn of the event loop (its
   * coroutine rescheduled), as the rule's `immediately` says.
   */
  fire(offset: number, bytes: number, iotype: BlkdebugIoType): { errno: number; immediately: boolean } {
    const rule = this.#matching(offset, bytes, iotype);
    if (!rule || !rule.errno) return { errno: 0, immediately: true };
    if (rule.once) {
      this.#active.splice(this.#active.indexOf(rule), 1);
      this.#remove(rule);
    }
    return { errno: rule.errno, immediately: rule.immediately };
  }

  /** `blkdebug_debug_breakpoint`: 0, or ENOENT for an unknown event. */
  breakpoint(event: string, tag: string, knownEvents: readonly string[]): number {
    if (!knownEvents.includes(event)) return ENOENT;
    this.#insert({ action: "suspend", event, state: 0, tag });
    return 0;
  }

  /** `blkdebug_debug_remove_breakpoint`: 0 if a breakpoint had the tag (no request is ever suspended here). */
  removeBreakpoint(tag: string): number {
    let found = false;
    for (const list of this.#rules.values()) {
      for (const rule of [...list]) {
        if (rule.action === "suspend" && rule.tag === tag) {
          this.#remove(rule);
          found = true;
        }
      }
    }
    return found ? 0 : ENOENT;
  }
}
