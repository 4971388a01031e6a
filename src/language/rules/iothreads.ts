/**
 * Iothread ids are used only while they exist: after the `iothread ID` statement (or a
 * `qmp object-add` of qom-type iothread) that creates them and before a `qmp object-del` removes
 * them. `export … iothread=ID`, `qmp x-blockdev-set-iothread {"iothread": ID}` and
 * `expect context NODE ID` must name one (`expect context` may also say `main`); an id is created
 * once while it exists, and an `iothread` statement's options are iothread properties. Statements written to fail are exempt (that is how QEMU's own errors for
 * missing and duplicate iothreads are tested) and create or delete nothing.
 */
import { qmpSchema } from "../../qapi/generated/qmp-schema.js";
import type { SchemaObject } from "../../qapi/schema-types.js";
import type { Identifier, IothreadStatement, Location, QmpStatement } from "../ast.js";
import { error, type Diagnostic } from "../diagnostic.js";
import { expectsError, steps } from "../walk.js";
import type { Rule } from "./rule.js";
import { suggest } from "./suggest.js";

/** How `expect context` names the main loop's AioContext. */
const MAIN = "main";

export const iothreads: Rule = {
  name: "iothreads",
  on: "expansion",
  check({ scenario }) {
    const out: Diagnostic[] = [];
    /** Live ids → where they were created. */
    const live = new Map<string, Location>();
    const use = (id: string, at: Location, what: string, allowMain = false) => {
      if (live.has(id) || id.includes("$") || (allowMain && id === MAIN)) return;
      const candidates = allowMain ? [...live.keys(), MAIN] : [...live.keys()];
      out.push(error(`unknown iothread '${id}'${what}`, at, suggest(id, candidates)));
    };
    const create = (id: string, at: Location) => {
      const first = live.get(id);
      if (first) out.push(error(`duplicate iothread '${id}'`, at, [`first created at line ${first.start.line}`]));
      else live.set(id, at);
    };

    for (const s of steps(scenario)) {
      if (expectsError(s)) continue;
      if (s.type === "iothread") {
        create(s.id.name, s.id.location);
        out.push(...unknownProperties(s));
      }
      if (s.type === "export") {
        const v = s.options.find((o) => o.key === "iothread")?.value;
        if (v && (v.type === "word" || v.type === "string")) use(v.value, v.location, "");
      }
      if (s.type === "expect" && s.assertion.kind === "context") {
        const c: Identifier = s.assertion.context;
        use(c.name, c.location, "", true);
      }
      if (s.type === "qmp") qmpIothreads(s, create, use, live);
    }
    return out;
  },
};

/** IothreadProperties' members (object-add's iothread branch), the options an `iothread` statement takes. */
function iothreadProperties(): string[] {
  const objectAdd = qmpSchema.types[qmpSchema.commands["object-add"]!.arg] as SchemaObject;
  const branch = qmpSchema.types[objectAdd.variants!["iothread"]!] as SchemaObject;
  return branch.members.map((m) => m.name);
}

function unknownProperties(s: IothreadStatement): Diagnostic[] {
  const known = iothreadProperties();
  return s.options
    .filter((o) => !known.includes(o.key))
    .map((o) => error(`unknown option '${o.key}' for 'iothread'`, o.keyLocation, suggest(o.key, known)));
}

/** The escape hatch creates, deletes and names iothreads too. */
function qmpIothreads(
  s: QmpStatement,
  create: (id: string, at: Location) => void,
  use: (id: string, at: Location, what: string) => void,
  live: Map<string, Location>,
): void {
  const args = (s.args?.value ?? {}) as Record<string, unknown>;
  const at = s.args?.location ?? s.command.location;
  const command = s.command.name;
  if (command === "object-add" && args["qom-type"] === "iothread" && typeof args.id === "string") create(args.id, at);
  if (command === "object-del" && typeof args.id === "string") live.delete(args.id);
  if (command === "x-blockdev-set-iothread" && typeof args.iothread === "string") use(args.iothread, at, " in x-blockdev-set-iothread");
}
