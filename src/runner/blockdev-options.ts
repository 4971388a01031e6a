/**
 * Scenario options → blockdev-add / blockdev-reopen JSON (language/option-json.ts), with node
 * references resolved to the nodes' current names and path members made absolute in the scratch
 * directory.
 */
import type { OptionNode, Value } from "../language/ast.js";
import { optionJson, optionsJson, OptionShapeError, type OptionHooks } from "../language/option-json.js";
import { StepError } from "./errors.js";
import type { QDict } from "./option-tracker.js";
import { scratchPath } from "./scratch-path.js";

/** How values are resolved: node references and scratch paths. */
export interface ValueResolver {
  workdir: string;
  /** Current node-name for a reference as written (`top/backing` → `#block123`). */
  nodeName(text: string, value: Value): Promise<string>;
}

/** A node reference met in the conversion, resolved once it is done. */
class PendingRef {
  constructor(
    readonly text: string,
    readonly value: Value,
  ) {}
}

/** Options of one node (`driver` first when given) as a nested dictionary. */
export async function buildOptions(options: readonly OptionNode[], driver: string | undefined, r: ValueResolver): Promise<QDict> {
  return (await resolve(convert(() => optionsJson(options, driver, hooks(r))), r)) as QDict;
}

/** The converted value of one option, e.g. for a reopen delta (`file.aio` under the node's driver). */
export async function convertOption(opt: OptionNode, driver: string | undefined, r: ValueResolver): Promise<unknown> {
  return resolve(convert(() => optionJson(opt, driver, hooks(r))), r);
}

function hooks(r: ValueResolver): OptionHooks<PendingRef> {
  return {
    nodeRef: (text, value) => new PendingRef(text, value),
    path: (text, location) => scratchPath(r.workdir, text, location),
  };
}

function convert<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof OptionShapeError) throw new StepError(e.message, e.location);
    throw e;
  }
}

/** `v` with every PendingRef replaced by the node's name, asked for one at a time in key order. */
async function resolve(v: unknown, r: ValueResolver): Promise<unknown> {
  if (v instanceof PendingRef) return r.nodeName(v.text, v.value);
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (const x of v) out.push(await resolve(x, r));
    return out;
  }
  if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = await resolve(x, r);
    return out;
  }
  return v;
}
