/**
 * What QEMU's QAPI visitor refuses before a command runs is a mistake in a step that must succeed:
 * an `add` whose options have the wrong type (`read-only=maybe`, `aio=bogus`, `"iotype": ["read"]`
 * inside blkdebug's inject-error), lack a required member, or hold a key QEMU does not know inside a
 * JSON value; a `qmp` whose command QEMU 7.2 lacks or whose arguments the visitor refuses. The
 * check is QEMU's own (src/qapi/validate.ts), so the message is the one the run would print. A
 * statement written to fail may pass anything.
 */
import type { Location, OptionNode, Statement, Value } from "../ast.js";
import { error, type Diagnostic } from "../diagnostic.js";
import { optionsJson, OptionShapeError } from "../option-json.js";
import { qmpSchema } from "../../qapi/generated/qmp-schema.js";
import { SYSTEM_ONLY_COMMANDS } from "../../qapi/system-commands.js";
import { validateQmpCommand } from "../../qapi/validate.js";
import { expectsError, steps } from "../walk.js";
import type { SchemaView } from "../schema.js";
import { checkDriverOptions } from "./options.js";
import type { Rule } from "./rule.js";
import { suggest } from "./suggest.js";

const MUST_SUCCEED = "a step without an expectation must succeed; write '-> error \"…\"' to test the refusal";

export const argumentTypes: Rule = {
  name: "argument-types",
  on: "expansion",
  check({ scenario, schema }) {
    const drivers = new Set(schema.listDrivers());
    const out: Diagnostic[] = [];
    for (const s of steps(scenario)) {
      if (s.type === "add" && drivers.has(s.driver.name)) checkAdd(s, schema, out);
      if (s.type === "qmp" && !expectsError(s)) checkQmp(s, out);
    }
    return out;
  },
};

function checkAdd(s: Extract<Statement, { type: "add" }>, schema: SchemaView, out: Diagnostic[]): void {
  let options;
  try {
    // Node references and paths keep their text: both are strings to the visitor.
    options = optionsJson(s.options, s.driver.name, { nodeRef: (text) => text, path: (text) => text });
  } catch (e) {
    if (!(e instanceof OptionShapeError)) throw e;
    out.push(error(e.message, e.location));
    return;
  }
  // An unknown key or a size with an unknown unit is unknown-option's, with its own notes; the
  // visitor would only repeat it less helpfully, or stop at a member it hides.
  if (expectsError(s)) return;
  const known: Diagnostic[] = [];
  checkDriverOptions(s.driver.name, s.options, schema, known);
  if (known.length > 0) return;
  const verdict = validateQmpCommand("blockdev-add", { driver: s.driver.name, "node-name": s.name.name, ...options });
  if (verdict.ok) return;
  const param = /'([^']*)'/.exec(verdict.error.desc)?.[1];
  const written = writtenKeys(s.options);
  out.push(error(`blockdev-add would fail: ${verdict.error.desc}`, locate(param, written) ?? s.driver.location, [MUST_SUCCEED]));
}

function checkQmp(s: Extract<Statement, { type: "qmp" }>, out: Diagnostic[]): void {
  const name = s.command.name;
  if (!(name in qmpSchema.commands)) {
    if (!SYSTEM_ONLY_COMMANDS.has(name)) {
      out.push(error(`QEMU 7.2 has no QMP command '${name}'`, s.command.location, suggest(name, [...Object.keys(qmpSchema.commands), ...SYSTEM_ONLY_COMMANDS])));
    }
    return;
  }
  const verdict = validateQmpCommand(name, s.args?.value);
  if (!verdict.ok) out.push(error(`qmp '${name}' would fail: ${verdict.error.desc}`, s.args?.location ?? s.command.location, [MUST_SUCCEED]));
}

/** Every option by its full dotted key, those of inline children under their parent's key. */
function writtenKeys(options: readonly OptionNode[], prefix = "", into = new Map<string, OptionNode>()): Map<string, OptionNode> {
  for (const o of options) {
    into.set(prefix + o.key, o);
    if (o.value.type === "child") writtenKeys(o.value.options, `${prefix}${o.key}.`, into);
  }
  return into;
}

/**
 * The option a visitor error names. QEMU names a member by its full path (`file.aio`,
 * `inject-error[0].iotype`) or, for some errors, by its last name only (`aio`).
 */
function locate(param: string | undefined, written: Map<string, OptionNode>): Location | undefined {
  if (param === undefined) return undefined;
  const path = param.replace(/\[\d+\]/g, "");
  const exact = written.get(path);
  if (exact) return exact.value.location;
  let best: [string, OptionNode] | undefined;
  for (const [key, o] of written) {
    const inside = path.startsWith(`${key}.`) || key.endsWith(`.${path}`);
    if (inside && (!best || key.length > best[0].length)) best = [key, o];
  }
  if (best) return best[1].value.location;
  // A bare member name from inside a JSON value (`event` of inject-error[0]): the value holding it.
  for (const o of written.values()) if (holdsKey(o.value, path)) return o.value.location;
  return undefined;
}

function holdsKey(v: Value, key: string): boolean {
  if (v.type === "list") return v.items.some((x) => holdsKey(x, key));
  return v.type === "json" && jsonHoldsKey(v.value, key);
}

function jsonHoldsKey(v: unknown, key: string): boolean {
  if (Array.isArray(v)) return v.some((x) => jsonHoldsKey(x, key));
  if (v === null || typeof v !== "object") return false;
  return Object.entries(v).some(([k, x]) => k === key || jsonHoldsKey(x, key));
}
