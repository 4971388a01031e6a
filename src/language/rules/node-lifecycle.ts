/**
 * Nodes and exports are used only while they exist: after the `add` that creates them (or their
 * named inline child) and before their `del`. A node name is added once. Statements written to
 * fail are exempt (adding a duplicate or naming a missing node is how QEMU's errors are tested),
 * and do not create or delete anything.
 */
import type { Location, NodeRef, OptionNode } from "../ast.js";
import { error, type Diagnostic } from "../diagnostic.js";
import type { SchemaView } from "../schema.js";
import { declaredNames, expectsError, statementRefs, steps, valuesIn, type Step } from "../walk.js";
import type { Rule } from "./rule.js";
import { suggest } from "./suggest.js";

interface NodeState {
  /** Undefined for a name assumed from a statement that did not parse. */
  addedAt?: Location;
  driver: string;
  /** Named inline children created with it, deleted with it. */
  children: string[];
}

export const nodeLifecycle: Rule = {
  name: "node-lifecycle",
  on: "expansion",
  check({ scenario, schema, assumeNodes }) {
    const out: Diagnostic[] = [];
    const live = new Map<string, NodeState>();
    for (const name of assumeNodes) live.set(name, { driver: "", children: [] });
    const deletedAt = new Map<string, Location>();
    const exports: LiveExport[] = [];
    // Names an add mentioned even if it was written to fail: `expect gone` may check those.
    const mentioned = new Set<string>();

    const use = (ref: NodeRef) => {
      // An unbound `$name` is the parameters rule's to report.
      if (live.has(ref.root) || ref.root.includes("$")) return;
      const del = deletedAt.get(ref.root);
      if (del) {
        out.push(error(`node '${ref.root}' is used after it was deleted`, ref.location, [`deleted at line ${del.start.line}`]));
      } else {
        out.push(error(`unknown node '${ref.root}'`, ref.location, suggest(ref.root, live.keys())));
      }
    };

    for (const s of steps(scenario)) {
      if (s.type === "add") for (const n of declaredNames(s)) mentioned.add(n.name);
      if (expectsError(s)) continue;
      if (s.type === "expect" && s.assertion.kind === "gone") {
        const ref = s.assertion.node;
        if (!live.has(ref.root) && !mentioned.has(ref.root) && !ref.root.includes("$")) {
          out.push(error(`unknown node '${ref.root}'`, ref.location, suggest(ref.root, mentioned)));
        }
      }
      for (const ref of statementRefs(s)) use(ref);
      for (const ref of optionRefs(s, live, schema)) use(ref);
      checkExports(s, exports, out);

      if (s.type === "add") {
        const names = declaredNames(s);
        names.forEach((n, i) => {
          const previous = live.get(n.name)?.addedAt ?? names.slice(0, i).find((m) => m.name === n.name)?.location;
          if (previous) {
            out.push(error(`duplicate node name '${n.name}'`, n.location, [`first added at line ${previous.start.line}`]));
          }
        });
        for (const n of names) {
          live.set(n.name, { addedAt: n.location, driver: n.driver, children: [] });
          deletedAt.delete(n.name);
        }
        live.get(s.name.name)!.children = names.slice(1).map((n) => n.name);
      }
      if (s.type === "qmp") {
        // The escape hatch can add and delete nodes too.
        const args = (s.args?.value ?? {}) as Record<string, unknown>;
        const name = typeof args["node-name"] === "string" ? args["node-name"] : undefined;
        if (name && s.command.name === "blockdev-add") {
          live.set(name, { addedAt: s.location, driver: String(args.driver ?? ""), children: [] });
          mentioned.add(name);
        }
        if (name && s.command.name === "blockdev-del") {
          live.delete(name);
          deletedAt.set(name, s.location);
        }
      }
      if (s.type === "del" && s.node.path.length === 0) {
        for (const name of [s.node.root, ...(live.get(s.node.root)?.children ?? [])]) {
          live.delete(name);
          deletedAt.set(name, s.location);
        }
      }
    }
    return out;
  },
};

/** References by name in child options: `file=f0`, `backing=base` (words where QAPI wants a BlockdevRef). */
function optionRefs(s: Step, live: Map<string, NodeState>, schema: SchemaView): NodeRef[] {
  const groups: Array<{ driver: string | undefined; options: readonly OptionNode[] }> = [];
  if (s.type === "add") groups.push({ driver: s.driver.name, options: s.options });
  if (s.type === "reopen") {
    for (const e of s.entries) {
      const given = e.options.find((o) => o.key === "driver")?.value;
      const driver = given?.type === "word" ? given.value : e.node.path.length === 0 ? live.get(e.node.root)?.driver : undefined;
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
