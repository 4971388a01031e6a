/**
 * `bdrv_reopen_queue_child`: the reopen queue in pre-order. Each entry gets its new options by QEMU's
 * precedence (explicit, old explicit of a duplicate/kept child, inherited, old effective), and
 * children are queued only when they were created inline by the node (`inherits_from`).
 */
import type { ReopenState } from "../drivers/driver.js";
import type { BdsNode, Flat } from "../graph.js";
import { extractSub, inheritChildOptions, optBool, qdictClone, qdictJoin } from "../options.js";

/** One node in a blockdev-reopen transaction. */
export interface ReopenEntry {
  bs: BdsNode;
  /** New effective options (flattened). */
  options: Flat;
  explicitOptions: Flat;
  /** Read-only after the reopen (from the final options). */
  readOnly: boolean;
  /** BDRV_O_UNMAP after the reopen: from the discard option, else kept from the node's open flags. */
  unmap: boolean;
  /** Neither "backing" nor "backing.driver" was given (only set for keep_old=false entries). */
  backingMissing: boolean;
  oldBacking: BdsNode | null;
  oldFile: BdsNode | null;
  /** The driver's reopen state once prepare succeeded (QEMU's `prepared`), for its commit or abort. */
  driver: ReopenState | null;
}

/** The queue: entries in order plus a lookup by node. */
export class ReopenQueue {
  readonly entries: ReopenEntry[] = [];
  private readonly byNode = new Map<BdsNode, ReopenEntry>();

  get(node: BdsNode): ReopenEntry | undefined {
    return this.byNode.get(node);
  }

  /** Post-reopen read-only flags, for the permission refresh. */
  flags(): Map<BdsNode, boolean> {
    return new Map(this.entries.map((e) => [e.bs, e.readOnly]));
  }

  /** Queue `bs` with `options` (keepOld: keep its old options where not given). */
  add(bs: BdsNode, options: Flat, keepOld: boolean, parentOptions: Flat | null, role: number): void {
    // Pre-order with an explicit stack (node, options, keepOld, parent options, role): chains are deep.
    const stack: Array<[BdsNode, Flat, boolean, Flat | null, number]> = [[bs, options, keepOld, parentOptions, role]];
    while (stack.length > 0) {
      const [node, opts, keep, parentOpts, childRole] = stack.pop()!;
      const children = this.addOne(node, opts, keep, parentOpts, childRole);
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
    }
  }

  private addOne(
    bs: BdsNode,
    options: Flat,
    keepOld: boolean,
    parentOptions: Flat | null,
    role: number,
  ): Array<[BdsNode, Flat, boolean, Flat | null, number]> {
    const existing = this.byNode.get(bs);
    if (existing || keepOld) joinOptions(bs, options, existing ? existing.explicitOptions : bs.explicitOptions);
    const explicitOptions = qdictClone(options);
    if (parentOptions) inheritChildOptions(options, parentOptions, role);
    if (keepOld) joinOptions(bs, options, bs.options);
    const entry: ReopenEntry = existing ?? {
      bs,
      options,
      explicitOptions,
      readOnly: false,
      unmap: false,
      backingMissing: false,
      oldBacking: null,
      oldFile: null,
      driver: null,
    };
    entry.options = options;
    entry.explicitOptions = explicitOptions;
    entry.readOnly = optBool(options["read-only"]);
    entry.unmap = "discard" in options ? options["discard"] === "unmap" || options["discard"] === "on" : bs.unmap;
    if (!existing) {
      this.entries.push(entry);
      this.byNode.set(bs, entry);
    }
    if (!keepOld) entry.backingMissing = !("backing" in options) && !("backing.driver" in options);

    const queued: Array<[BdsNode, Flat, boolean, Flat | null, number]> = [];
    for (let i = bs.children.length - 1; i >= 0; i--) {
      const child = bs.children[i]!;
      if (child.bs.inheritsFrom !== bs) continue;
      let childOptions: Flat = {};
      // Children of a kept entry keep their options too, unless given new ones below.
      let childKeepOld = keepOld;
      if (child.name in options) {
        // Only a reference to the current child keeps it in the queue (with its old options).
        if (options[child.name] !== child.bs.name) continue;
        childKeepOld = true;
      } else {
        extractSub(explicitOptions, `${child.name}.`);
        childOptions = extractSub(options, `${child.name}.`);
      }
      queued.push([child.bs, childOptions, childKeepOld, options, child.role]);
    }
    return queued;
  }
}

/**
 * `bdrv_join_options` on a clone of `old` (bdrv_reopen_queue_child joins a qdict_clone_shallow of the
 * old options): the driver's own join, or qdict_join, which fills in what `options` lacks walking
 * the clone in QDict order.
 */
function joinOptions(bs: BdsNode, options: Flat, old: Flat): void {
  const clone = qdictClone(old);
  if (bs.driver.joinOptions) bs.driver.joinOptions(options, clone);
  else qdictJoin(options, clone);
}
