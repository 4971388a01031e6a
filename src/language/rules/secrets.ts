/**
 * Secret ids are created once while they exist: by a `secret ID` statement (or a `qmp object-add`
 * of qom-type secret) until a `qmp object-del` removes them. A `secret` statement's options are
 * SecretProperties, and an `image … key-secret=ID` names a live secret (the runner hands it to
 * qemu-img). Statements written to fail are exempt and create or delete nothing.
 */
import { qmpSchema } from "../../qapi/generated/qmp-schema.js";
import type { SchemaObject } from "../../qapi/schema-types.js";
import type { Location, QmpStatement, SecretStatement } from "../ast.js";
import { error, type Diagnostic } from "../diagnostic.js";
import { expectsError, steps } from "../walk.js";
import type { Rule } from "./rule.js";
import { suggest } from "./suggest.js";

/** Image creation options that name a secret. */
const SECRET_IMAGE_OPTIONS = ["key-secret", "encrypt.key-secret"];

export const secrets: Rule = {
  name: "secrets",
  on: "expansion",
  check({ scenario }) {
    const out: Diagnostic[] = [];
    const live = new Map<string, Location>();
    const create = (id: string, at: Location) => {
      const first = live.get(id);
      if (first) out.push(error(`duplicate secret '${id}'`, at, [`first created at line ${first.start.line}`]));
      else live.set(id, at);
    };
    for (const s of steps(scenario)) {
      if (expectsError(s)) continue;
      if (s.type === "secret") {
        create(s.id.name, s.id.location);
        out.push(...unknownProperties(s));
      }
      if (s.type === "image") {
        for (const o of s.options) {
          if (!SECRET_IMAGE_OPTIONS.includes(o.key) || (o.value.type !== "word" && o.value.type !== "string")) continue;
          const id = o.value.value;
          if (!live.has(id) && !id.includes("$")) out.push(error(`unknown secret '${id}'`, o.value.location, suggest(id, [...live.keys()])));
        }
      }
      if (s.type === "qmp") qmpSecrets(s, create, live);
    }
    return out;
  },
};

/** SecretProperties' members (object-add's secret branch), the options a `secret` statement takes. */
function secretProperties(): string[] {
  const objectAdd = qmpSchema.types[qmpSchema.commands["object-add"]!.arg] as SchemaObject;
  const branch = qmpSchema.types[objectAdd.variants!["secret"]!] as SchemaObject;
  return branch.members.map((m) => m.name);
}

function unknownProperties(s: SecretStatement): Diagnostic[] {
  const known = secretProperties();
  return s.options
    .filter((o) => !known.includes(o.key))
    .map((o) => error(`unknown option '${o.key}' for 'secret'`, o.keyLocation, suggest(o.key, known)));
}

/** The escape hatch creates and deletes secrets too. */
function qmpSecrets(s: QmpStatement, create: (id: string, at: Location) => void, live: Map<string, Location>): void {
  const args = (s.args?.value ?? {}) as Record<string, unknown>;
  const at = s.args?.location ?? s.command.location;
  if (s.command.name === "object-add" && args["qom-type"] === "secret" && typeof args.id === "string") create(args.id, at);
  if (s.command.name === "object-del" && typeof args.id === "string") live.delete(args.id);
}
