/**
 * What job statements say, checked against QEMU 7.2's schema (job-commands.ts):
 *
 * - `job TYPE ID NODE key=value…`: each key an argument of the command, once, with a value of its
 *   type; the arguments QEMU requires are given (unless the statement is written to fail, which is
 *   how "Parameter 'sync' is missing" is tested);
 * - `job VERB ID key=value…`: only the verb's own arguments (`job cancel j0 force=on`);
 * - `expect job ID key=value…`: members of the job's query-jobs / query-block-jobs entry, with values
 *   of their type;
 * - `expect frozen`: a backing link between two nodes, without permissions (docs/language.md says
 *   why only backing links).
 */
import type { Location, OptionNode, Value } from "../ast.js";
import { error, type Diagnostic } from "../diagnostic.js";
import { commandArguments, JOB_COMMANDS, JOB_PROPERTIES, VERB_COMMANDS, type JobArgument, type JobProperty } from "../job-commands.js";
import { expectsError, steps } from "../walk.js";
import type { Rule } from "./rule.js";
import { suggest } from "./suggest.js";

export const jobOptions: Rule = {
  name: "job-options",
  on: "expansion",
  check({ scenario }) {
    const out: Diagnostic[] = [];
    for (const s of steps(scenario)) {
      if (s.type === "job") {
        const args = commandArguments(JOB_COMMANDS[s.jobType]);
        out.push(...checkArguments(s.options, args, `job ${s.jobType}`));
        if (!expectsError(s)) {
          for (const a of args.filter((x) => !x.optional && !s.options.some((o) => o.key === x.name))) {
            out.push(error(`'job ${s.jobType}' needs '${a.name}=…'`, s.location, [`${JOB_COMMANDS[s.jobType]} requires '${a.name}'`]));
          }
        }
      }
      if (s.type === "job-verb") out.push(...checkArguments(s.options, commandArguments(VERB_COMMANDS[s.verb].command), `job ${s.verb}`));
      if (s.type === "expect" && s.assertion.kind === "job") out.push(...checkProperties(s.assertion.properties));
      if (s.type === "expect" && s.assertion.kind === "frozen") {
        const e = s.assertion.edge;
        if (e.parent.type === "exportref") out.push(error("an export's link is never frozen: name a node", e.parent.location));
        if (e.name.name !== "backing" && !e.name.name.includes("$")) {
          out.push(error(`only a backing link can be checked for being frozen, not '${e.name.name}'`, e.name.location, [
            "a reopen can change only 'backing' and 'file', and a frozen 'file' link belongs to a job's filter, which cannot be reopened",
          ]));
        }
        const perms = e.perm?.[0] ?? e.shared?.[0];
        if (e.perm || e.shared) out.push(error("'expect frozen' takes no perm= or shared=", perms?.location ?? e.location, ["check permissions with 'expect edge'"]));
      }
    }
    return out;
  },
};

function checkArguments(options: readonly OptionNode[], args: readonly JobArgument[], what: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Map<string, Location>();
  for (const o of options) {
    if (o.key.includes("$")) continue;
    const first = seen.get(o.key);
    if (first) out.push(error(`option '${o.key}' is given twice`, o.keyLocation, [`first given at line ${first.start.line}`]));
    seen.set(o.key, o.keyLocation);
    // `x-perf.max-chunk=64k`: one member of an object argument (sent nested).
    const dot = o.key.indexOf(".");
    const parent = dot > 0 ? args.find((a) => a.name === o.key.slice(0, dot) && a.kind === "object") : undefined;
    if (parent) {
      const member = o.key.slice(dot + 1);
      const whole = seen.get(parent.name);
      if (whole) out.push(error(`option '${parent.name}' is given whole and member by member`, o.keyLocation, [`given whole at line ${whole.start.line}`]));
      if (!seen.has(`${parent.name}.`)) seen.set(`${parent.name}.`, o.keyLocation);
      if (!parent.members!.includes(member)) out.push(error(`unknown member '${member}' of '${parent.name}'`, o.keyLocation, suggest(member, parent.members!)));
      continue;
    }
    const byMember = seen.get(`${o.key}.`);
    if (byMember) out.push(error(`option '${o.key}' is given whole and member by member`, o.keyLocation, [`a member given at line ${byMember.start.line}`]));
    const arg = args.find((a) => a.name === o.key);
    if (!arg) {
      const notes = o.key === "job-id" || o.key === "device" || o.key === "id" ? ["the job's id (and a new job's node) come right after the verb"] : suggest(o.key, args.map((a) => a.name));
      out.push(error(`unknown option '${o.key}' for '${what}'`, o.keyLocation, notes));
      continue;
    }
    const problem = valueProblem(o.value, arg);
    if (problem) out.push(error(`'${o.key}' ${problem}`, o.value.location, arg.values ? suggestValue(o.value, arg.values) : []));
  }
  return out;
}

function checkProperties(properties: readonly OptionNode[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const names = Object.keys(JOB_PROPERTIES);
  for (const p of properties) {
    if (p.key.includes("$")) continue;
    const prop = JOB_PROPERTIES[p.key];
    if (!prop) {
      out.push(error(`unknown job property '${p.key}'`, p.keyLocation, [...suggest(p.key, names), `known properties: ${names.join(", ")}`]));
      continue;
    }
    const problem = valueProblem(p.value, prop);
    if (problem) out.push(error(`'${p.key}' ${problem}`, p.value.location, prop.values ? suggestValue(p.value, prop.values) : []));
  }
  return out;
}

/** What is wrong with `v` for an argument or property of this kind, or undefined. */
function valueProblem(v: Value, want: Pick<JobArgument | JobProperty, "kind" | "values">): string | undefined {
  if (textOf(v)?.includes("$")) return undefined;
  switch (want.kind) {
    case "bool":
      return v.type === "bool" ? undefined : "takes on or off";
    case "int":
      return v.type === "number" ? undefined : "takes a number";
    case "enum": {
      const text = textOf(v);
      if (text === undefined) return `takes one of ${want.values!.join(", ")}`;
      return want.values!.includes(text) ? undefined : `does not take '${text}': one of ${want.values!.join(", ")}`;
    }
    case "str":
      return v.type === "word" || v.type === "string" || v.type === "bool" ? undefined : "takes a name or a string";
    case "object":
      return v.type === "json" && v.value !== null && typeof v.value === "object" && !Array.isArray(v.value) ? undefined : "takes a JSON object";
  }
}

function textOf(v: Value): string | undefined {
  if (v.type === "word" || v.type === "string") return v.value;
  if (v.type === "bool") return v.raw;
  if (v.type === "null") return "null";
  return undefined;
}

function suggestValue(v: Value, values: readonly string[]): string[] {
  const text = textOf(v);
  return text === undefined ? [] : suggest(text, values);
}
