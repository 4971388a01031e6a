/**
 * What the scenario generator believes the block graph looks like after the statements so far. It
 * is worked out from the statements alone, assuming each one succeeds (no engine is asked), which
 * is enough to name nodes that probably exist: by name, or by path (`p0/file`) for auto-named ones.
 * When a statement fails on an engine the belief is wrong from there on; the scenario is still
 * valid (the checker follows the same rules) and the engines report what they report.
 *
 * It also keeps to the scenario checker's rules, so every generated scenario loads: a name is added
 * once, a deleted node (and the named inline children added with it) is never named again.
 */
import type { FuzzNode, FuzzOption, FuzzValue } from "./scenario-ir.js";

/** Option keys that hold a child node (blkverify's raw/test, copy-before-write's target, blklogwrites' log). */
export const CHILD_KEYS = ["file", "image", "backing", "data-file", "raw", "test", "target", "log"] as const;
/** quorum's list of children, by reference; its edges are `children.0`, `children.1`, … */
export const CHILD_LIST_KEY = "children";

/** The image files a generated scenario may create, with the backing file named in their header. */
export const IMAGES: Readonly<Record<string, { format: string; size: string; backing?: string }>> = {
  "a.qcow2": { format: "qcow2", size: "1M" },
  "b.qcow2": { format: "qcow2", size: "1M" },
  "base.qcow2": { format: "qcow2", size: "1M" },
  "top.qcow2": { format: "qcow2", size: "1M", backing: "base.qcow2" },
  "d.raw": { format: "raw", size: "1M" },
  "e.raw": { format: "raw", size: "64k" },
  // One image of each other format the model opens; only their own drivers draw them.
  "f.qed": { format: "qed", size: "1M" },
  "f.qcow": { format: "qcow", size: "1M" },
  "f.vdi": { format: "vdi", size: "1M" },
  "f.vpc": { format: "vpc", size: "1M" },
  "f.vhdx": { format: "vhdx", size: "1M" },
  "f.parallels": { format: "parallels", size: "1M" },
  "f.vmdk": { format: "vmdk", size: "1M" },
};

/**
 * The images of block jobs: a chain of three, apart from IMAGES so that the other
 * parts, which draw from IMAGES, draw what they drew before jobs were added.
 */
export const JOB_IMAGES: Readonly<Record<string, { format: string; size: string; backing?: string }>> = {
  "jbase.qcow2": { format: "qcow2", size: "1M" },
  "jmid.qcow2": { format: "qcow2", size: "1M", backing: "jbase.qcow2" },
  "jtop.qcow2": { format: "qcow2", size: "1M", backing: "jmid.qcow2" },
};

/** Image formats besides qcow2 and raw, each with its image in IMAGES. */
export const OTHER_FORMATS = ["qed", "qcow", "vdi", "vpc", "vhdx", "parallels", "vmdk"] as const;

export class GenNode {
  readonly children = new Map<string, GenNode>();
  /** Set once the node is freed or deleted. */
  dead = false;
  /**
   * Set when a `del` of it failed: it still exists, but the checker counts it deleted, so it is
   * named only by a path from another node.
   */
  retired = false;

  constructor(
    /** Creation order; ties in path search are broken by it. */
    readonly id: number,
    /** The user-given node-name; undefined for an auto-named node. */
    readonly name: string | undefined,
    readonly driver: string,
    /** A blockdev-add root, which only `del` frees. */
    readonly owned: boolean,
    /** The root of the `add` that created it (itself for a root). */
    readonly addedWith: GenNode | undefined,
    /** For a file node: the image it opens. */
    readonly image: string | undefined,
    public readOnly: boolean,
  ) {}
}

export class GenWorld {
  private nodes: GenNode[] = [];
  private nextId = 0;
  private counter = 0;
  readonly images = new Set<string>();
  readonly groups: string[] = [];
  readonly exports: Array<{ id: string; node: string }> = [];
  /** Iothreads made and not deleted (or refused deletion: the checker forgets them as well). */
  readonly iothreads: string[] = [];
  /** Dirty bitmaps added and not seen removed, by node name. */
  readonly bitmaps: Array<{ node: string; name: string }> = [];

  /** A name not used before in this scenario. */
  fresh(prefix: string): string {
    return `${prefix}${this.counter++}`;
  }

  live(): GenNode[] {
    return this.nodes.filter((n) => !n.dead);
  }

  /** Roots that can still be named. */
  owned(): GenNode[] {
    return this.live().filter((n) => n.owned && !n.retired);
  }

  /** The live node a statement may name `name`. */
  byName(name: string): GenNode | undefined {
    return this.live().find((n) => n.name === name && !n.retired);
  }

  /** Parents of a node (live ones), with the edge. */
  parents(node: GenNode): Array<{ parent: GenNode; edge: string }> {
    const out: Array<{ parent: GenNode; edge: string }> = [];
    for (const p of this.live()) for (const [edge, c] of p.children) if (c === node) out.push({ parent: p, edge });
    return out;
  }

  /** Every node below `node` (not itself). */
  descendants(node: GenNode): GenNode[] {
    const seen = new Set<GenNode>();
    const todo = [...node.children.values()];
    while (todo.length > 0) {
      const n = todo.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      todo.push(...n.children.values());
    }
    return [...seen];
  }

  /** How a statement names the node: its name, or its shortest path from a named node. */
  ref(node: GenNode): string | undefined {
    if (node.dead) return undefined;
    if (node.name !== undefined && !node.retired) return node.name;
    const roots = this.live().filter((n) => n.name !== undefined && !n.retired);
    let frontier = roots.map((n) => ({ node: n, path: n.name! }));
    const seen = new Set<GenNode>(roots);
    while (frontier.length > 0) {
      const next: typeof frontier = [];
      for (const { node: p, path } of frontier) {
        for (const [edge, c] of p.children) {
          if (seen.has(c)) continue;
          seen.add(c);
          const q = `${path}/${edge}`;
          if (c === node) return q;
          next.push({ node: c, path: q });
        }
      }
      frontier = next;
    }
    return undefined;
  }

  /** Nodes a statement can name. */
  referable(): GenNode[] {
    return this.live().filter((n) => this.ref(n) !== undefined);
  }

  /** The node a reference names, as the belief stands. */
  resolve(ref: string): GenNode | undefined {
    const [root, ...edges] = ref.split("/");
    let n = this.byName(root!);
    for (const e of edges) n = n?.children.get(e);
    return n;
  }

  /** Record an `add` (a root and its inline children). */
  add(spec: FuzzNode): GenNode {
    return this.create(spec.name, spec.driver, spec.options, undefined, false);
  }

  /** Inline children inherit read-only from their parent unless they set it. */
  private create(name: string | undefined, driver: string, options: readonly FuzzOption[], root: GenNode | undefined, parentReadOnly: boolean): GenNode {
    const image = driver === "file" ? wordOf(options.find((o) => o.key === "filename")?.value) : undefined;
    const ro = options.find((o) => o.key === "read-only")?.value;
    const readOnly = ro?.kind === "bool" ? ro.value : parentReadOnly;
    const node = new GenNode(this.nextId++, name, driver, root === undefined, root, image, readOnly);
    this.nodes.push(node);
    const owner = root ?? node;
    for (const o of options) {
      if (o.key === CHILD_LIST_KEY && o.value.kind === "list") {
        o.value.items.forEach((ref, i) => {
          const child = this.resolve(ref);
          if (child) node.children.set(`${CHILD_LIST_KEY}.${i}`, child);
        });
      }
      if (!(CHILD_KEYS as readonly string[]).includes(o.key)) continue;
      const child = this.childFor(o.value, owner, readOnly);
      if (child) node.children.set(o.key, child);
    }
    // A qcow2 on an image whose header names a backing file opens it, unless told otherwise.
    if (driver === "qcow2" && !options.some((o) => o.key === "backing")) {
      const img = this.imageBelow(node.children.get("file"));
      const backing = img !== undefined ? (IMAGES[img] ?? JOB_IMAGES[img])?.backing : undefined;
      if (backing !== undefined) {
        const bf = new GenNode(this.nextId++, undefined, "file", false, owner, backing, true);
        const b = new GenNode(this.nextId++, undefined, "qcow2", false, owner, undefined, true);
        b.children.set("file", bf);
        node.children.set("backing", b);
        this.nodes.push(bf, b);
      }
    }
    return node;
  }

  private childFor(v: FuzzValue, owner: GenNode, parentReadOnly: boolean): GenNode | undefined {
    if (v.kind === "word") return this.resolve(v.text);
    if (v.kind === "child") return this.create(v.name, v.driver, v.options, owner, parentReadOnly);
    return undefined;
  }

  /** The image a node opens, looking through filters and raw down the file/image links. */
  imageBelow(node: GenNode | undefined): string | undefined {
    for (let n = node, depth = 0; n && depth < 8; depth++) {
      if (n.image !== undefined) return n.image;
      if (n.driver === "qcow2" || n.driver === "null-co") return undefined;
      n = n.children.get("file") ?? n.children.get("image");
    }
    return undefined;
  }

  /** Record one reopen entry that succeeded: child links change, read-only follows. */
  reopen(node: GenNode, options: readonly FuzzOption[]): void {
    for (const o of options) {
      if (o.key === "read-only" && o.value.kind === "bool") node.readOnly = o.value.value;
      if (!(CHILD_KEYS as readonly string[]).includes(o.key)) continue;
      if (o.value.kind === "null") node.children.delete(o.key);
      else {
        const child = this.childFor(o.value, node.addedWith ?? node, node.readOnly);
        if (child && child !== node) node.children.set(o.key, child);
      }
    }
    this.collect();
  }

  /**
   * Record a reopen QEMU refused, as the scenario checker sees it anyway: it assumes the reopen
   * succeeded, so a named inline child whose link the entry moved or cleared is freed for it (when
   * that link was its only one). The node still exists; it is named only by path from now on.
   */
  refusedReopen(node: GenNode, options: readonly FuzzOption[]): void {
    for (const o of options) {
      if (!(CHILD_KEYS as readonly string[]).includes(o.key)) continue;
      const old = node.children.get(o.key);
      const same = o.value.kind === "word" && this.resolve(o.value.text) === old;
      if (old && !same && old.name !== undefined && !old.owned && this.parents(old).length === 1) old.retired = true;
    }
  }

  /**
   * Record a `del` of a root. Whether or not QEMU agreed, the checker counts it and the named nodes
   * added with it as deleted: they are never named again. When it succeeded the root is gone, and
   * what only it held goes with it.
   */
  del(node: GenNode, succeeded: boolean): void {
    for (const n of this.live()) if (n === node || (n.addedWith === node && n.name !== undefined)) n.retired = true;
    if (succeeded) {
      node.dead = true;
      this.collect();
    }
  }

  /**
   * The graph as believed now, to go back to when a statement turns out to have done less. Names,
   * images and groups are not taken back: the statements that made them stay in the scenario.
   */
  snapshot(): () => void {
    const count = this.nodes.length;
    const state = this.nodes.map((n) => ({ n, children: new Map(n.children), dead: n.dead, retired: n.retired, readOnly: n.readOnly }));
    const nextId = this.nextId;
    return () => {
      this.nodes.length = count;
      for (const s of state) {
        s.n.children.clear();
        for (const [k, v] of s.children) s.n.children.set(k, v);
        s.n.dead = s.dead;
        s.n.retired = s.retired;
        s.n.readOnly = s.readOnly;
      }
      this.nextId = nextId;
    };
  }

  /**
   * Record an external snapshot (bdrv_append): `overlay` takes `node` as its backing file and every
   * parent of `node` over, and `node` is read-only from then on.
   */
  append(overlay: GenNode, node: GenNode): void {
    overlay.children.set("backing", node);
    node.readOnly = true;
    this.replace(node, overlay);
  }

  /**
   * Record the overlay blockdev-snapshot-sync opened on `image`: named, opened with `node`'s
   * read-only flag, and, as for a root, the checker lets a statement name it until a `del`.
   */
  syncOverlay(name: string, driver: string, image: string, node: GenNode): GenNode {
    const overlay = new GenNode(this.nextId++, name, driver, true, undefined, undefined, node.readOnly);
    const file = new GenNode(this.nextId++, undefined, "file", false, overlay, image, node.readOnly);
    overlay.children.set("file", file);
    this.nodes.push(overlay, file);
    this.append(overlay, node);
    return overlay;
  }

  /** What a job that ends does to the graph: `from`'s parents (but `to` itself) now hold `to`. */
  replace(from: GenNode, to: GenNode): void {
    for (const { parent, edge } of this.parents(from)) if (parent !== to) parent.children.set(edge, to);
    this.collect();
  }

  /** Free what nothing holds any more: non-root nodes without a live parent. */
  private collect(): void {
    let changed = true;
    while (changed) {
      changed = false;
      const held = new Set<GenNode>();
      for (const p of this.live()) for (const c of p.children.values()) held.add(c);
      for (const n of this.live()) {
        if (!n.owned && !held.has(n)) {
          n.dead = true;
          changed = true;
        }
      }
    }
    // Links into freed or deleted nodes are not followed any more.
    for (const n of this.live()) for (const [e, c] of n.children) if (c.dead) n.children.delete(e);
  }
}

function wordOf(v: FuzzValue | undefined): string | undefined {
  return v?.kind === "word" ? v.text : undefined;
}
