/**
 * The QOM tree as object_resolve_path walks it (qom/object.c). Of the objects outside /objects the
 * model keeps only what path resolution needs: their names, the child and link properties that
 * lead on from them, and which of them are plain containers. That much is fixed by the command
 * line the qemu engine starts (monitor-args.ts): qemu-storage-daemon has /chardevs/mon0, and
 * qemu-system with `-M none` has /machine as well. The engine makes /objects at its start
 * (reuse.ts, objectsRootCreated), after the rest. Every link out there is NULL (checked with
 * qom-get on QEMU 7.2.22), and a NULL link resolves to nothing.
 */
import { GHashModel } from "../../../qapi/ghash-order.js";
import type { LayerState } from "../layer-state.js";

/** A user-creatable object in /objects, by what it is. */
export type UserObjectKind = "iothread" | "throttle-group" | "secret";

export type QomObject =
  /** A container (TYPE_CONTAINER): its properties are its children. */
  | { kind: "container"; path: string; children: QomChild[] }
  | { kind: UserObjectKind; path: string; id: string }
  /** An object whose properties the model does not have (the machine, a chardev, a memory region). */
  | { kind: "opaque"; path: string; type: string; children: QomChild[]; links: string[] };

/** A child property: its name, in the order it was added to the parent's property table. */
export interface QomChild {
  name: string;
  object: QomObject;
}

/** What object_resolve_path found: an object, nothing, or more than one (a partial path). */
export type Resolution = QomObject | "none" | "ambiguous";

function container(path: string, children: [string, (path: string) => QomObject][]): QomObject {
  return { kind: "container", path, children: children.map(([name, make]) => ({ name, object: make(join(path, name)) })) };
}

function opaque(type: string, children: [string, (path: string) => QomObject][] = [], links: string[] = []) {
  return (path: string): QomObject => ({
    kind: "opaque",
    path,
    type,
    children: children.map(([name, make]) => ({ name, object: make(join(path, name)) })),
    links,
  });
}

const emptyContainer = (path: string) => container(path, []);

/**
 * qemu-system -M none -nodefaults: qom-list from / on QEMU 7.2.22, child and link properties, each
 * object's children in the order they were added (the order qom-list shows follows from it).
 */
const machine = opaque(
  "none-machine",
  [
    ["peripheral-anon", emptyContainer],
    ["peripheral", emptyContainer],
    [
      "unattached",
      (path) =>
        container(path, [
          ["sysbus", opaque("System", [], ["hotplug-handler"])],
          ["system[0]", opaque("memory-region", [], ["container"])],
          ["io[0]", opaque("memory-region", [], ["container"])],
        ]),
    ],
  ],
  ["confidential-guest-support", "memory-backend"],
);

function join(parent: string, name: string): string {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}

/** Which kind of user object `id` in /objects is. */
export function userObjectKind(state: LayerState, id: string): UserObjectKind {
  if (state.aio.iothreads.has(id)) return "iothread";
  if (state.throttleGroups.has(id)) return "throttle-group";
  return "secret";
}

/** The root as the process has it now. */
export function qomRoot(state: LayerState): QomObject {
  const objects = (path: string): QomObject => ({
    kind: "container",
    path,
    children: state.qomObjects.keysInOrder().map((id) => ({ name: id, object: { kind: userObjectKind(state, id), path: join(path, id), id } })),
  });
  const children: [string, (path: string) => QomObject][] = state.qemuSystem ? [["machine", machine]] : [];
  children.push(["chardevs", (path) => container(path, [["mon0", opaque("chardev-socket")]])], ["objects", objects]);
  return container("/", children);
}

/** The names of an object's instance properties in its hash table's order (object_property_iter). */
export function childOrder(state: LayerState, obj: QomObject & { children: QomChild[] }): QomChild[] {
  // /objects' table has seen removals, which the state's own model of it keeps.
  if (obj.path === "/objects") {
    const byName = new Map(obj.children.map((c) => [c.name, c]));
    return state.qomObjects.keysInOrder().map((id) => byName.get(id)!);
  }
  const table = new GHashModel();
  for (const c of obj.children) table.insert(c.name);
  const byName = new Map(obj.children.map((c) => [c.name, c]));
  return table.keysInOrder().map((name) => byName.get(name)!);
}

function childrenOf(obj: QomObject): QomChild[] {
  return obj.kind === "container" || obj.kind === "opaque" ? obj.children : [];
}

/** object_resolve_path_component: a child, or a link (every link here is NULL). */
function component(obj: QomObject, name: string): QomObject | undefined {
  return childrenOf(obj).find((c) => c.name === name)?.object;
}

/** object_resolve_abs_path: empty components are skipped. */
function resolveAbs(obj: QomObject, parts: string[]): QomObject | undefined {
  let at: QomObject | undefined = obj;
  for (const part of parts) {
    if (part === "") continue;
    at = component(at, part);
    if (!at) return undefined;
  }
  return at;
}

/**
 * object_resolve_path: an absolute path from the root; any other is partial, resolved from every
 * object the root's child properties reach, and ambiguous when more than one of them resolves it.
 */
export function resolveQomPath(root: QomObject, path: string): Resolution {
  // g_strsplit gives no parts at all for an empty string.
  const parts = path === "" ? [] : path.split("/");
  if (parts[0] === "") return resolveAbs(root, parts.slice(1)) ?? "none";
  let ambiguous = false;
  const partial = (obj: QomObject): QomObject | undefined => {
    let found = resolveAbs(obj, parts);
    for (const child of childrenOf(obj)) {
      const below = partial(child.object);
      if (ambiguous) return undefined;
      if (below) {
        if (found) {
          ambiguous = true;
          return undefined;
        }
        found = below;
      }
    }
    return found;
  };
  const found = partial(root);
  return ambiguous ? "ambiguous" : (found ?? "none");
}
