/**
 * Nodes and exports are used only while they exist: after the `add` that creates them (or their
 * named inline child) and before they go, which node-graph.ts follows through the graph: a del
 * takes the node and the children only it held; a reopen that detaches or replaces an inline child
 * frees it, and its name may then be added again. A node name is added once while it exists.
 * Statements written to fail are exempt (adding a duplicate or naming a missing node is how QEMU's
 * errors are tested), and do not create or delete anything.
 */
import type { JobStatement, NodeRef, OptionNode, WordValue } from "../ast.js";
import { error, type Diagnostic } from "../diagnostic.js";
import { declaredNames, expectsError, statementRefs, steps, valuesIn, type Step } from "../walk.js";
import { FILTER_NODE_ARGUMENT } from "../job-commands.js";
import { NodeGraph } from "./node-graph.js";
import type { Rule } from "./rule.js";
import { suggest } from "./suggest.js";
import type { SchemaView } from "../schema.js";

export const nodeLifecycle: Rule = {
  name: "node-lifecycle",
  on: "expansion",
  check({ scenario, schema, assumeNodes }) {
    const out: Diagnostic[] = [];
    const graph = new NodeGraph(schema);
    for (const name of assumeNodes) graph.assume(name);
    const exports: LiveExport[] = [];
    // Names an add mentioned even if it was written to fail: `expect gone` may check those.
    const mentioned = new Set<string>();

    const use = (ref: NodeRef) => {
      // An unbound `$name` is the parameters rule's to report.
      if (graph.has(ref.root) || ref.root.includes("$")) return;
      const gone = graph.gone(ref.root);
      if (gone?.how === "deleted") {
        out.push(error(`node '${ref.root}' is used after it was deleted`, ref.location, [`deleted at line ${gone.at.start.line}`]));
      } else if (gone) {
        out.push(
          error(`node '${ref.root}' is used after it was freed`, ref.location, [
            `freed at line ${gone.at.start.line}: the reopen let go of the last reference to it (it was an inline child)`,
          ]),
        );
      } else {
        out.push(error(`unknown node '${ref.root}'`, ref.location, suggest(ref.root, graph.names())));
      }
    };

    for (const s of steps(scenario)) {
      if (s.type === "add") for (const n of declaredNames(s)) mentioned.add(n.name);
      const filter = s.type === "job" ? jobFilter(s) : undefined;
      if (filter) mentioned.add(filter.name.value);
      // An overlay a failed transaction took out again is gone, which `expect gone` may check.
      if (s.type === "qmp") for (const [overlay] of syncSnapshots(s.command.name, (s.args?.value ?? {}) as Record<string, unknown>)) mentioned.add(overlay);
      if (expectsError(s)) continue;
      if (s.type === "expect" && s.assertion.kind === "gone") {
        const ref = s.assertion.node;
        if (!graph.has(ref.root) && !mentioned.has(ref.root) && !ref.root.includes("$")) {
          out.push(error(`unknown node '${ref.root}'`, ref.location, suggest(ref.root, mentioned)));
        }
      }
      for (const ref of statementRefs(s)) use(ref);
      for (const ref of optionRefs(s, graph, schema)) use(ref);
      checkExports(s, exports, out);

      if (s.type === "add") {
        const names = declaredNames(s);
        names.forEach((n, i) => {
          const previous = (graph.has(n.name) ? graph.addedAt(n.name) : undefined) ?? names.slice(0, i).find((m) => m.name === n.name)?.location;
          if (previous) {
            out.push(error(`duplicate node name '${n.name}'`, n.location, [`first added at line ${previous.start.line}`]));
          }
        });
        graph.add(s);
      }
      if (s.type === "reopen") graph.reopen(s, s.location);
      if (s.type === "qmp") {
        // The escape hatch can add and delete nodes too.
        const args = (s.args?.value ?? {}) as Record<string, unknown>;
        const name = typeof args["node-name"] === "string" ? args["node-name"] : undefined;
        if (name && s.command.name === "blockdev-add") {
          graph.addOwned(name, String(args.driver ?? ""), s.location);
          mentioned.add(name);
        }
        if (name && s.command.name === "blockdev-del") graph.del(name, s.location);
        // drive-mirror names the target it opens; the job holds it, as a job holds its filter.
        if (name && s.command.name === "drive-mirror") graph.addOwned(name, typeof args["format"] === "string" ? args["format"] : "", s.location);
        const filterName = args[FILTER_NODE_ARGUMENT];
        const filterDriver = QMP_JOB_FILTERS[s.command.name];
        if (typeof filterName === "string" && filterDriver !== undefined) graph.addOwned(filterName, filterDriver, s.location);
        for (const [overlay, format] of syncSnapshots(s.command.name, args)) graph.addOwned(overlay, format, s.location);
      }
      if (s.type === "del" && s.node.path.length === 0) graph.del(s.node.root, s.location);
      if (filter) graph.addOwned(filter.name.value, filter.driver, filter.name.location);
    }
    return out;
  },
};

/**
 * The overlays a blockdev-snapshot-sync names (`snapshot-node-name`), alone or as transaction
 * actions, with their format. Only the overlay's parents hold it, which the checker does not
 * follow (as for a job's filter): it is taken to stay.
 */
function syncSnapshots(command: string, args: Record<string, unknown>): Array<[string, string]> {
  const actions =
    command === "blockdev-snapshot-sync"
      ? [args]
      : command === "transaction" && Array.isArray(args["actions"])
        ? (args["actions"] as { type?: unknown; data?: Record<string, unknown> }[]).filter((a) => a?.type === "blockdev-snapshot-sync").map((a) => a.data ?? {})
        : [];
  return actions.flatMap((a) => {
    const name = a["snapshot-node-name"];
    return typeof name === "string" ? [[name, typeof a["format"] === "string" ? a["format"] : "qcow2"] as [string, string]] : [];
  });
}

/**
 * The node a job inserts under a name of the scenario's choosing (`filter-node-name=cor`), and its
 * driver where QEMU has one by that name: it can be named from the job's start. It goes with the
 * job, at a moment the checker does not follow (nor the other changes a job makes to the graph).
 */
const FILTER_DRIVERS: Partial<Record<JobStatement["jobType"], string>> = { stream: "copy-on-read", backup: "copy-before-write" };

/** The same for a job started with `qmp`: its command, and the filter's driver ("" for none QEMU has by name). */
const QMP_JOB_FILTERS: Readonly<Record<string, string>> = {
  "block-stream": "copy-on-read",
  "block-commit": "",
  "blockdev-mirror": "",
  "blockdev-backup": "copy-before-write",
  "drive-backup": "copy-before-write",
};

function jobFilter(s: JobStatement): { name: WordValue; driver: string } | undefined {
  const v = s.options.find((o) => o.key === FILTER_NODE_ARGUMENT)?.value;
  return v?.type === "word" ? { name: v, driver: FILTER_DRIVERS[s.jobType] ?? "" } : undefined;
}

/** References by name in child options: `file=f0`, `backing=base` (words where QAPI wants a BlockdevRef). */
function optionRefs(s: Step, graph: NodeGraph, schema: SchemaView): NodeRef[] {
  const groups: Array<{ driver: string | undefined; options: readonly OptionNode[] }> = [];
  if (s.type === "add") groups.push({ driver: s.driver.name, options: s.options });
  if (s.type === "reopen") {
    for (const e of s.entries) {
      const given = e.options.find((o) => o.key === "driver")?.value;
      const driver = given?.type === "word" ? given.value : e.node.path.length === 0 ? graph.driverOf(e.node.root) : undefined;
      groups.push({ driver, options: e.options });
    }
  }
  const refs: NodeRef[] = [];
  const collect = (driver: string | undefined, options: readonly OptionNode[]) => {
    for (const o of options) {
      if (o.value.type === "child") {
        collect(o.value.driver.name, o.value.options);
        continue;
      }
      if (!driver || schema.lookupOption(driver, o.key)?.kind !== "child") continue;
      for (const v of valuesIn([o.value])) {
        if (v.type === "word") {
          const [root, ...path] = v.value.split("/");
          refs.push({ type: "noderef", text: v.value, root: root!, path, location: v.location });
        }
      }
    }
  };
  for (const g of groups) collect(g.driver, g.options);
  return refs;
}

interface LiveExport {
  id: string;
  node: string;
}

/**
 * `unexport ID-OR-NODE` and `export ID -root-> …` need a live export; ids are unique. As the
 * runner does it, an export's id defaults to its node's name, or `eN` (N = exports so far) for a path.
 */
function checkExports(s: Step, exports: LiveExport[], out: Diagnostic[]): void {
  const ids = () => exports.map((e) => e.id);
  if (s.type === "export") {
    const idValue = s.options.find((o) => o.key === "id")?.value;
    const id =
      idValue && (idValue.type === "word" || idValue.type === "string")
        ? idValue.value
        : s.node.path.length === 0
          ? s.node.root
          : `e${exports.length}`;
    if (ids().includes(id)) out.push(error(`duplicate export id '${id}'`, idValue?.location ?? s.node.location));
    exports.push({ id, node: s.node.text });
  }
  if (s.type === "unexport") {
    const i = exports.findIndex((e) => e.id === s.target.name);
    const j = i >= 0 ? i : exports.findIndex((e) => e.node === s.target.name);
    if (j < 0) out.push(error(`unknown export '${s.target.name}'`, s.target.location, suggest(s.target.name, ids())));
    else exports.splice(j, 1);
  }
  if (s.type === "expect") {
    const edges = s.assertion.kind === "edge" ? [s.assertion.edge] : s.assertion.kind === "graph" ? s.assertion.edges : [];
    for (const e of edges) {
      if (e.parent.type === "exportref" && !ids().includes(e.parent.id)) {
        out.push(error(`unknown export '${e.parent.id}'`, e.parent.location, suggest(e.parent.id, ids())));
      }
    }
  }
}
