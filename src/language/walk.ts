/**
 * Ways to go through a scenario that several rules share.
 */
import type {
  AddStatement,
  ChildValue,
  EdgeSpec,
  JobStatement,
  NodeRef,
  OptionNode,
  Scenario,
  Statement,
  Value,
} from "./ast.js";
import { commandArguments, JOB_COMMANDS } from "./job-commands.js";

/** A statement that sends one command, with graph blocks opened into their adds. */
export type Step = Exclude<Statement, { type: "graph" }>;

/** steps() of each statement list already asked, with its length then: a dozen rules ask for each scenario they check. */
const stepsOf = new WeakMap<readonly Statement[], { length: number; steps: readonly Step[] }>();

/** Statements in execution order, each graph block replaced by its adds. */
export function steps(scenario: Scenario): readonly Step[] {
  const list = scenario.statements;
  const known = stepsOf.get(list);
  if (known !== undefined && known.length === list.length) return known.steps;
  const out = list.flatMap((s): Step[] => (s.type === "graph" ? s.nodes : [s]));
  stepsOf.set(list, { length: list.length, steps: out });
  return out;
}

/**
 * True when no statement's source text can hold a parameter reference: no `$`, and no `\u0024`
 * that a JSON string would turn into one. Then expanding the scenario changes nothing.
 */
export function parameterFree(scenario: Scenario): boolean {
  return scenario.statements.every((s) => typeof s.text === "string" && !s.text.includes("$") && !/\\u0024/i.test(s.text));
}

/** True when the statement is written to fail: it may then do what would otherwise be invalid. */
export function expectsError(s: Statement): boolean {
  return s.expectation?.type === "error";
}

/** Every value in `values`, depth first, including list items and inline children (not their options). */
export function* valuesIn(values: readonly Value[]): Generator<Value> {
  // An explicit stack, not recursion: a scenario built in memory may nest deeper than the call stack.
  const stack = [...values].reverse();
  while (stack.length > 0) {
    const v = stack.pop()!;
    yield v;
    if (v.type === "list") for (let i = v.items.length - 1; i >= 0; i--) stack.push(v.items[i]!);
  }
}

/** Inline children declared by an add's options, depth first. */
export function* inlineChildren(options: readonly OptionNode[]): Generator<ChildValue> {
  const stack: ChildValue[] = childrenOf(options).reverse();
  while (stack.length > 0) {
    const c = stack.pop()!;
    yield c;
    stack.push(...childrenOf(c.options).reverse());
  }
}

/** The inline children written directly in `options` (in lists too), in order. */
function childrenOf(options: readonly OptionNode[]): ChildValue[] {
  return [...valuesIn(options.map((o) => o.value))].filter((v): v is ChildValue => v.type === "child");
}

/** Names an add creates: its own, then those of its named inline children. */
export function declaredNames(add: AddStatement): Array<{ name: string; location: AddStatement["name"]["location"]; driver: string }> {
  const out = [{ name: add.name.name, location: add.name.location, driver: add.driver.name }];
  for (const c of inlineChildren(add.options)) {
    if (c.name) out.push({ name: c.name.name, location: c.name.location, driver: c.driver.name });
  }
  return out;
}

/** Node references a statement makes outside its options (reopen targets, del, expect …). */
export function statementRefs(s: Step): NodeRef[] {
  switch (s.type) {
    case "reopen":
      return s.entries.map((e) => e.node);
    case "del":
    case "export":
    case "io":
      return [s.node];
    case "show":
      return s.node ? [s.node] : [];
    case "job":
      return [s.node, ...jobOptionRefs(s)];
    case "expect": {
      const a = s.assertion;
      if (a.kind === "edge" || a.kind === "frozen") return edgeRefs(a.edge);
      if (a.kind === "job") return [];
      if (a.kind === "graph") return a.edges.flatMap(edgeRefs);
      if (a.kind === "gone") return [];
      return [a.node];
    }
    default:
      return [];
  }
}

/** Node references in a job's options (`base-node=hd2`, `target=t0`), words only: others are the options rule's. */
function jobOptionRefs(s: JobStatement): NodeRef[] {
  const nodeArgs = new Set(commandArguments(JOB_COMMANDS[s.jobType]).filter((a) => a.node).map((a) => a.name));
  return s.options
    .filter((o) => nodeArgs.has(o.key) && o.value.type === "word")
    .map((o) => {
      const text = (o.value as { value: string }).value;
      const [root, ...path] = text.split("/");
      return { type: "noderef", text, root: root!, path, location: o.value.location };
    });
}

function edgeRefs(e: EdgeSpec): NodeRef[] {
  return e.parent.type === "noderef" ? [e.parent, e.child] : [e.child];
}
