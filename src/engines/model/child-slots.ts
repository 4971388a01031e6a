/**
 * BdrvChild allocations: QEMU 7.2 keeps a pointer to a freed edge in one place the model follows, a
 * qcow2's s->data_file after a failed reopen (drivers/qcow2.ts). Using it crashes QEMU while the
 * memory is free; glibc hands the chunk to later allocations of its size, and an edge made since
 * and still there may live in it, and then what the pointer reaches depends on the allocator. An
 * edge made and freed again in between gives the chunk back: on QEMU the pointer still crashes
 * after one. qemu-io's BlockBackend is such an edge, and it holds the chunk while its request runs:
 * a data write through the pointer then lands on the node again and recurses until the stack
 * overflows, a segfault too, so its edge never counts; nor does block_resize's, whose truncate
 * recurses the same way (QEMU 7.2.22 segfaulted in block_resize).
 */
import type { BdsNode, Child } from "./graph.js";

export class ChildSlots {
  /** Every edge allocated (`g_new(BdrvChild, 1)` in bdrv_attach_child_common), in order. */
  readonly #made: Child[] = [];

  get allocations(): number {
    return this.#made.length;
  }

  readonly #transient = new WeakSet<Child>();

  allocate(c: Child): void {
    this.#made.push(c);
  }

  /** An edge that goes at the end of the command that made it (qemu-io's BlockBackend). */
  transient(c: Child): void {
    this.#transient.add(c);
  }

  /** Edges with Child.stale set: a refresh that reaches a node above one must reach its parent. */
  readonly #stale = new Set<Child>();

  markStale(c: Child, stale: boolean): void {
    if (stale) {
      c.stale = true;
      this.#stale.add(c);
    } else {
      delete c.stale;
      this.#stale.delete(c);
    }
  }

  /**
   * Nodes whose length changed since a permission refresh last checked them: bdrv_node_refresh_perm
   * refuses write without resize where the length is no multiple of the request alignment, and QEMU
   * checks every node below where a refresh starts, whatever its edges do.
   */
  readonly #resized = new Set<BdsNode>();

  markResized(n: BdsNode, resized: boolean): void {
    if (resized) this.#resized.add(n);
    else this.#resized.delete(n);
  }

  /** The nodes whose refresh recomputes a stale edge or checks a changed length, and every node above them. */
  aboveStale(): Set<BdsNode> | undefined {
    if (this.#stale.size === 0 && this.#resized.size === 0) return undefined;
    const out = new Set<BdsNode>();
    const up: BdsNode[] = [];
    for (const c of this.#stale) {
      // An edge since detached, or whose parent is no node, needs nothing.
      if (c.parent.kind !== "node" || !c.bs.parents.includes(c)) continue;
      up.push(c.parent.node);
    }
    for (const n of this.#resized) if (!n.freed) up.push(n);
    while (up.length > 0) {
      const n = up.pop()!;
      if (out.has(n)) continue;
      out.add(n);
      for (const p of n.parents) if (p.parent.kind === "node") up.push(p.parent.node);
    }
    return out;
  }

  /** Whether an edge allocated after the first `count` is still attached. */
  liveSince(count: number): boolean {
    for (let i = count; i < this.#made.length; i++) {
      const c = this.#made[i]!;
      if (!this.#transient.has(c) && c.bs.parents.includes(c)) return true;
    }
    return false;
  }
}
