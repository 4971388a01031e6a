/**
 * Ways to go through a scenario that several rules share.
 */
import type {
  AddStatement,
  ChildValue,
  EdgeSpec,
  NodeRef,
  OptionNode,
  Scenario,
  Statement,
  Value,
} from "./ast.js";

/** A statement that sends one command, with graph blocks opened into their adds. */
export type Step = Exclude<Statement, { type: "graph" }>;

/** Statements in execution order, each graph block replaced by its adds. */
export function steps(scenario: Scenario): Step[] {
  return scenario.statements.flatMap((s): Step[] => (s.type === "graph" ? s.nodes : [s]));
}

/** True when the statement is written to fail: it may then do what would otherwise be invalid. */
export function expectsError(s: Statement): boolean {
  return s.expectation?.type === "error";
}

/** Every value in `values`, depth first, including list items and inline children (not their options). */
export function* valuesIn(values: readonly Value[]): Generator<Value> {
  for (const v of values) {
    yield v;
    if (v.type === "list") yield* valuesIn(v.items);
  }
}

/** Inline children declared by an add's options, depth first. */
export function* inlineChildren(options: readonly OptionNode[]): Generator<ChildValue> {
  for (const v of valuesIn(options.map((o) => o.value))) {
    if (v.type === "child") {
      yield v;
      yield* inlineChildren(v.options);
    }
  }
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
    case "expect": {
      const a = s.assertion;
      if (a.kind === "edge") return edgeRefs(a.edge);
      if (a.kind === "graph") return a.edges.flatMap(edgeRefs);
      if (a.kind === "gone") return [];
      return [a.node];
    }
    default:
      return [];
  }
}

function edgeRefs(e: EdgeSpec): NodeRef[] {
  return e.parent.type === "noderef" ? [e.parent, e.child] : [e.child];
}
