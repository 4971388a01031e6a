/**
 * `secret ID key=value …` → object-add qom-type=secret id=ID with those properties, every value a
 * string as SecretProperties takes them (`data=123` is the text "123"). The run remembers the
 * secrets it made, so that `image … key-secret=ID` can give them to qemu-img too.
 */
import type { SecretStatement } from "../../language/ast.js";
import type { StepContext } from "../context.js";
import { StepError } from "../errors.js";
import { commandStep, type StepResult } from "./step.js";

export async function secretStep(ctx: StepContext, stmt: SecretStatement): Promise<StepResult> {
  const props: Record<string, string> = {};
  for (const o of stmt.options) {
    const v = o.value;
    // A number or on/off is the text as written: `data=0123` is the passphrase "0123".
    if (v.type === "number" || v.type === "bool") props[o.key] = v.raw;
    else if (v.type === "word" || v.type === "string") props[o.key] = v.value;
    else throw new StepError(`secret option '${o.key}' takes a word or a string`, v.location);
  }
  const id = stmt.id.name;
  return commandStep(ctx, stmt, "object-add", { "qom-type": "secret", id, ...props }, () => {
    ctx.secrets.set(id, props);
  });
}
