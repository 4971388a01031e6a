/**
 * `expect …` assertions on the engine's current state. The transcript shows `ok` or `failed: WHY`;
 * a failure quotes expected and actual. `expect graph { … }` compares the edges of block nodes and
 * exports (job edges are not part of it): every one listed, none extra, perms where written.
 * `expect node NODE KEY=VALUE…` compares members of the node's query-named-block-nodes entry, its
 * strings normalized as transcripts show them (`$TEST_DIR/…`, implicit nodes by path).
 */
import type { EdgeSpec, ExpectStatement, ExportRef, NodeRef, OptionNode } from "../../language/ast.js";
import { propertyValue } from "../../language/node-properties.js";
import { readExpected, sameValue, writeScalar } from "../../language/property-values.js";
import type { GraphEdge, GraphNode } from "../../graph-view/block-graph.js";
import { formatPerms, samePerms } from "../../transcript/perms.js";
import { stepFailure, type StepContext } from "../context.js";
import { StepError } from "../errors.js";
import { findRef, graphState, namedNodes, type GraphState } from "../graph-state.js";
import { nodeEntry, propertyFor } from "./node-entry.js";
import { checkContext } from "./expect-context.js";
import { checkFrozen } from "./expect-frozen.js";
import { checkJob } from "./expect-job.js";
import type { StepResult } from "./step.js";

export async function expectStep(ctx: StepContext, stmt: ExpectStatement): Promise<StepResult> {
  const problem = await check(ctx, stmt);
  return {
    blocks: [{ step: stmt.text, output: [problem ? `failed: ${problem}` : "ok"] }],
    failures: problem ? [stepFailure(ctx, stmt, "expectation", problem)] : [],
  };
}

async function check(ctx: StepContext, stmt: ExpectStatement): Promise<string | undefined> {
  const a = stmt.assertion;
  const state = await graphState(ctx);
  switch (a.kind) {
    case "edge":
      return checkEdge(state, a.edge);
    case "gone":
    case "exists": {
      const there = findRef(state, a.node) !== undefined;
      if (a.kind === "gone") return there ? `expected node '${a.node.text}' to be gone, but it exists` : undefined;
      return there ? undefined : `expected node '${a.node.text}' to exist, but it does not`;
    }
    case "ro":
    case "rw": {
      const node = findRef(state, a.node);
      if (!node) return `expected node '${a.node.text}' to be ${a.kind}, but it does not exist`;
      const info = (await namedNodes(ctx)).find((n) => n.name === node.name);
      const actual = info?.readOnly ? "ro" : "rw";
      return actual === a.kind ? undefined : `expected node '${a.node.text}' to be ${a.kind}, but it is ${actual}`;
    }
    case "graph":
      return checkGraph(state, a.edges);
    case "node":
      return checkNode(ctx, state, a.node, a.properties);
    case "job":
      return checkJob(ctx, a.id, a.properties);
    case "frozen":
      return checkFrozen(ctx, state, a.edge);
    case "context":
      return checkContext(ctx, state, a.node, a.context);
  }
}

/** Every property that differs, as `expected KEY=VALUE, got KEY=VALUE`; all of them, not the first. */
async function checkNode(ctx: StepContext, state: GraphState, ref: NodeRef, options: readonly OptionNode[]): Promise<string | undefined> {
  const wanted = options.map((o) => {
    const property = propertyFor(o.key, o.keyLocation);
    const expected = readExpected(property, o.key, o.value);
    if ("message" in expected) throw new StepError(expected.message, o.value.location);
    return { o, property, expected };
  });
  const found = await nodeEntry(ctx, state, ref);
  if (!found) return `expected node '${ref.text}' to have ${options.map((o) => o.key).join(", ")}, but it does not exist`;
  const problems: string[] = [];
  for (const { o, property, expected } of wanted) {
    const raw = propertyValue(found.entry, property);
    const actual = typeof raw === "string" ? state.normalize(raw) : raw;
    if (sameValue(expected, actual)) continue;
    const style = o.value.type === "bool" && (o.value.raw === "true" || o.value.raw === "false") ? "true/false" : "on/off";
    const want = expected.absent ? "null" : writeScalar(expected.value, style);
    problems.push(`expected ${o.key}=${want}, got ${o.key}=${writeScalar(actual, style)}`);
  }
  return problems.length ? `node '${ref.text}': ${problems.join("; ")}` : undefined;
}

function describe(state: GraphState, e: GraphEdge): string {
  return `${state.labels.get(e.parent)} -${e.name}-> ${state.labels.get(e.child)} perm=${formatPerms(e.perm)} shared=${formatPerms(e.shared)}`;
}

/** A node reference, or an export's BlockBackend (`export e0`). */
function findParent(state: GraphState, ref: NodeRef | ExportRef): GraphNode | undefined {
  if (ref.type === "noderef") return findRef(state, ref);
  const label = `export ${ref.id}`;
  return [...state.graph.nodes.values()].find((n) => state.labels.get(n.id) === label);
}

function checkEdge(state: GraphState, spec: EdgeSpec): string | undefined {
  const parent = findParent(state, spec.parent);
  const child = findRef(state, spec.child);
  const want = `${spec.parent.text} -${spec.name.name}-> ${spec.child.text}`;
  if (!parent) return `expected edge ${want}, but node '${spec.parent.text}' does not exist`;
  if (!child) return `expected edge ${want}, but node '${spec.child.text}' does not exist`;
  const edge = state.graph.edges.find((e) => e.parent === parent.id && e.child === child.id && e.name === spec.name.name);
  if (!edge) {
    const actual = state.graph.edges.filter((e) => e.parent === parent.id).map((e) => describe(state, e));
    return `expected edge ${want}, got ${actual.length ? actual.join("; ") : "no edges from " + spec.parent.text}`;
  }
  return permProblem(spec, edge, want);
}

function permProblem(spec: EdgeSpec, edge: GraphEdge, want: string): string | undefined {
  const perm = spec.perm?.map((p) => p.name);
  const shared = spec.shared?.map((p) => p.name);
  if (perm && !samePerms(perm, edge.perm)) return `edge ${want}: expected perm=${formatPerms(perm)}, got perm=${formatPerms(edge.perm)}`;
  if (shared && !samePerms(shared, edge.shared)) {
    return `edge ${want}: expected shared=${formatPerms(shared)}, got shared=${formatPerms(edge.shared)}`;
  }
  return undefined;
}

function checkGraph(state: GraphState, specs: readonly EdgeSpec[]): string | undefined {
  const blockEdges = state.graph.edges.filter(
    (e) => state.graph.nodes.get(e.parent)!.type === "block-driver" || state.labels.get(e.parent)!.startsWith("export "),
  );
  const matched = new Set<GraphEdge>();
  for (const spec of specs) {
    const problem = checkEdge(state, spec);
    if (problem) return problem;
    const p = findParent(state, spec.parent)!;
    const c = findRef(state, spec.child)!;
    matched.add(blockEdges.find((e) => e.parent === p.id && e.child === c.id && e.name === spec.name.name)!);
  }
  const extra = blockEdges.filter((e) => !matched.has(e)).map((e) => describe(state, e)).sort();
  return extra.length ? `unexpected edges: ${extra.join("; ")}` : undefined;
}
