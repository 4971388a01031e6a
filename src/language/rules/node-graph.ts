/**
 * The block graph as far as the checker can know it from the scenario text: which named nodes
 * exist, and which node holds which through which child option. QEMU frees a node when its last
 * reference goes: a node added on its own (add, qmp blockdev-add) is held by the monitor until its
 * del, but an inline child is held only by its parents, so it goes with the last of them, whether
 * that parent is deleted or a reopen detaches or replaces it. Its name is then free to be added again.
 *
 * Nodes QEMU opens by itself (a backing file named in an image header) are not known here; paths
 * through them do not resolve, and the checker then assumes nothing changes.
 */
import type { AddStatement, Location, NodeRef, OptionNode, ReopenEntry, ReopenStatement, Value } from "../ast.js";
import type { SchemaView } from "../schema.js";

/** How a name stopped being a node: its own del (or its parent's), or a reopen letting go of it. */
export interface Gone {
  how: "deleted" | "freed";
  at: Location;
}

interface CheckNode {
  id: number;
  name?: string;
  driver: string;
  /** Held by the monitor (added on its own): only a del of it removes it. */
  own: boolean;
  /** Child edges: edge name → node id. */
  children: Map<string, number>;
  /** How many edges point at it. */
  parents: number;
  /** The options it was added with (for `reopen fresh`). */
  options: readonly OptionNode[];
  addedAt?: Location;
}

export class NodeGraph {
  private readonly nodes = new Map<number, CheckNode>();
  private readonly byName = new Map<string, number>();
  private readonly goneByName = new Map<string, Gone>();
  private nextId = 0;

  constructor(private readonly schema: SchemaView) {}

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): IterableIterator<string> {
    return this.byName.keys();
  }

  /** Where the node of that name was added; undefined for one assumed from a statement that did not parse. */
  addedAt(name: string): Location | undefined {
    return this.node(name)?.addedAt;
  }

  driverOf(name: string): string | undefined {
    return this.node(name)?.driver;
  }

  /** How a name that is not a node any more went, if it ever was one. */
  gone(name: string): Gone | undefined {
    return this.goneByName.get(name);
  }

  /** A name taken to exist from the start (declared by a statement that did not parse). */
  assume(name: string): void {
    this.create(name, "", true, [], undefined);
  }

  /** A successful `add`: the node, held by the monitor, and its inline children, held by it. */
  add(s: AddStatement): void {
    const top = this.create(s.name.name, s.driver.name, true, s.options, s.name.location);
    const stack = [top];
    while (stack.length > 0) {
      const id = stack.pop()!;
      const n = this.nodes.get(id)!;
      for (const [edge, value] of this.childOptions(n.driver, n.options)) {
        if (value.type === "child") {
          const c = this.create(value.name?.name, value.driver.name, false, value.options, value.name?.location);
          this.link(id, edge, c);
          stack.push(c);
        } else if (value.type === "word") {
          const target = this.resolveText(value.value);
          if (target !== undefined) this.link(id, edge, target);
        }
      }
    }
  }

  /** A successful `qmp blockdev-add`: a node held by the monitor; its children are not looked at. */
  addOwned(name: string, driver: string, at: Location): void {
    this.create(name, driver, true, [], at);
  }

  /**
   * A successful reopen. Only child options it names change edges (a child left out is kept, or
   * QEMU refuses); `reopen fresh` names those the node was added with too, as it sends them again.
   *
   * The entries of one blockdev-reopen are one transaction: every reference is looked up before
   * anything changes, and a child an entry lets go of loses that reference only when the
   * transaction commits (bdrv_set_file_or_backing_noperm → bdrv_remove_child; the old child is
   * unref'd by bdrv_replace_child_commit). So another entry may take it by name in the same reopen,
   * as 245's test_swap_files does, and it is freed only if no entry did.
   */
  reopen(s: ReopenStatement, at: Location): void {
    const changes = s.entries.map((entry) => this.entryChanges(entry, s.mode === "fresh"));
    const dropped: number[] = [];
    for (const c of changes) {
      if (c) dropped.push(...this.applyChanges(c));
    }
    for (const old of dropped) this.release(old, { how: "freed", at });
  }

  /** The edges a reopen entry sets, resolved against the graph as it was before the reopen. */
  private entryChanges(entry: ReopenEntry, fresh: boolean): { id: number; edges: Array<[string, number | null]> } | undefined {
    const id = this.resolve(entry.node);
    if (id === undefined) return undefined;
    const n = this.nodes.get(id)!;
    const given = entry.options.find((o) => o.key === "driver")?.value;
    const driver = given?.type === "word" ? given.value : n.driver;
    const options = new Map(fresh ? this.childOptions(n.driver, n.options) : []);
    for (const [edge, value] of this.childOptions(driver, entry.options)) options.set(edge, value);
    const edges: Array<[string, number | null]> = [];
    for (const [edge, value] of options) {
      // An inline child in a reopen reopens the child it names: the edge stays.
      if (value.type === "null") edges.push([edge, null]);
      else if (value.type === "word") {
        const target = this.resolveText(value.value);
        if (target !== undefined) edges.push([edge, target]);
      }
    }
    return { id, edges };
  }

  /** Set the edges of one entry; returns the children it let go of (released when the reopen commits). */
  private applyChanges(c: { id: number; edges: Array<[string, number | null]> }): number[] {
    const n = this.nodes.get(c.id)!;
    const dropped: number[] = [];
    for (const [edge, target] of c.edges) {
      const old = n.children.get(edge);
      if (target === old) continue;
      if (target === null) n.children.delete(edge);
      else this.link(c.id, edge, target);
      if (old !== undefined) dropped.push(old);
    }
    return dropped;
  }

  /**
   * A successful del: the node goes, and so do the children only it held. (QEMU refuses to delete a
   * node that has parents; should the scenario not expect that, the run says so.)
   */
  del(name: string, at: Location): void {
    const id = this.byName.get(name);
    this.goneByName.set(name, { how: "deleted", at });
    if (id === undefined) return;
    // Only a node with parents has edges to cut, and only that many: a scan of every node for each
    // del would make a long scenario quadratic.
    let edges = this.nodes.get(id)!.parents;
    for (const p of this.nodes.values()) {
      if (edges <= 0) break;
      for (const [edge, c] of p.children) {
        if (c !== id) continue;
        p.children.delete(edge);
        edges--;
      }
    }
    this.remove(id, { how: "deleted", at });
  }

  /** The node a reference names now: a name, then child edges by name. */
  resolve(ref: NodeRef): number | undefined {
    let id = this.byName.get(ref.root);
    for (const edge of ref.path) {
      if (id === undefined) return undefined;
      id = this.nodes.get(id)!.children.get(edge);
    }
    return id;
  }

  private resolveText(text: string): number | undefined {
    const [root, ...path] = text.split("/");
    return this.resolve({ type: "noderef", text, root: root!, path, location: undefined as never });
  }

  private node(name: string): CheckNode | undefined {
    const id = this.byName.get(name);
    return id === undefined ? undefined : this.nodes.get(id);
  }

  private create(name: string | undefined, driver: string, own: boolean, options: readonly OptionNode[], at: Location | undefined): number {
    const id = this.nextId++;
    this.nodes.set(id, { id, name, driver, own, children: new Map(), parents: 0, options, addedAt: at });
    if (name !== undefined) {
      this.byName.set(name, id);
      this.goneByName.delete(name);
    }
    return id;
  }

  private link(parent: number, edge: string, child: number): void {
    this.nodes.get(parent)!.children.set(edge, child);
    this.nodes.get(child)!.parents++;
  }

  /** One reference to `id` dropped: a node nothing holds any more goes. */
  private release(id: number, gone: Gone): void {
    const n = this.nodes.get(id);
    if (!n) return;
    n.parents--;
    if (n.parents <= 0 && !n.own) this.remove(id, gone);
  }

  /** The node goes, and each of its children loses a reference (a loop, not recursion: chains may be long). */
  private remove(id: number, gone: Gone): void {
    const stack = [id];
    while (stack.length > 0) {
      const n = this.nodes.get(stack.pop()!);
      if (!n) continue;
      this.nodes.delete(n.id);
      if (n.name !== undefined && this.byName.get(n.name) === n.id) {
        this.byName.delete(n.name);
        this.goneByName.set(n.name, gone);
      }
      for (const c of n.children.values()) {
        const child = this.nodes.get(c);
        if (child && --child.parents <= 0 && !child.own) stack.push(c);
      }
    }
  }

  /**
   * The child options among `options` of a node of `driver`, by edge name: inline children, and
   * words, null and lists where QEMU's schema says the option is a child (`file`, `backing`; a list
   * such as quorum's `children` gives edges `children.0`, …). Dotted keys (`file.aio`) are not.
   */
  private childOptions(driver: string, options: readonly OptionNode[]): Array<[string, Value]> {
    const out: Array<[string, Value]> = [];
    for (const o of options) {
      if (o.key.includes(".")) continue;
      const isChild = this.schema.lookupOption(driver, o.key)?.kind === "child";
      if (o.value.type === "list") {
        const items = o.value.items;
        items.forEach((v, i) => {
          if (v.type === "child" || (isChild && v.type === "word")) out.push([`${o.key}.${i}`, v]);
        });
      } else if (o.value.type === "child" || isChild) {
        out.push([o.key, o.value]);
      }
    }
    return out;
  }
}
