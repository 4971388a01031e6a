/**
 * `reopen` statements: one node or a transaction of several (often a node together with nodes below
 * it), changing read-only, moving a child link (often to a node further down, which frees the one
 * in between), replacing a child with an inline one, or an option that cannot change. Reopening an
 * auto-named node by its path always fails in QEMU 7.2 (its options never match), after the new
 * links were already parsed: a failed reopen of an inline node, which the generator then likes to
 * follow with a `del`.
 */
import { childValue, linkKey, pickExisting } from "./gen-add.js";
import { bool, opt, word, type GenContext } from "./gen-context.js";
import { IMAGES, type GenNode } from "./gen-world.js";
import type { FuzzOption, FuzzReopenEntry, FuzzStatement, FuzzValue } from "./scenario-ir.js";

const FORMAT_OR_FILTER = new Set(["raw", "qcow2", "copy-on-read", "throttle", "blkdebug", "preallocate", "compress"]);

function refValue(ctx: GenContext, n: GenNode | undefined): FuzzValue | undefined {
  const r = n && ctx.world.ref(n);
  return r === undefined ? undefined : word(r);
}

/** A node to move a link to: often one further down (skipping the current child), else any other. */
function relinkTarget(ctx: GenContext, node: GenNode): FuzzValue | undefined {
  const { rng, world } = ctx;
  const current = node.children.get(linkKey(node.driver));
  const below = current ? world.descendants(current).filter((n) => world.ref(n) !== undefined) : [];
  if (below.length > 0 && rng.chance(0.4)) return refValue(ctx, rng.pick(below));
  return refValue(ctx, pickExisting(ctx, node.driver === "qcow2" ? "qcow2-file" : "any", current ? [node, current] : [node]));
}

/** One option QEMU may or may not let a reopen change. */
function altered(ctx: GenContext, node: GenNode): FuzzOption | undefined {
  const { rng, world } = ctx;
  switch (node.driver) {
    case "file":
      return rng.pick([
        opt("locking", word("off")),
        opt("aio", word("threads")),
        opt("filename", word(ctx.image(rng.pick(Object.keys(IMAGES).filter((p) => p !== "base.qcow2"))))),
      ]);
    case "raw":
      return opt(rng.pick(["offset", "size"]), { kind: "number", value: rng.pick([512, 4096]) });
    case "blkdebug":
      return opt(rng.pick(["take-child-perms", "unshare-child-perms"]), { kind: "list", items: rng.subset(["consistent-read", "write", "resize"], 0.4) });
    case "throttle":
      return opt("throttle-group", word(world.groups.length > 0 && rng.chance(0.8) ? rng.pick(world.groups) : "nosuch"));
    default:
      return rng.chance(0.5) ? opt("detect-zeroes", word("on")) : opt("force-share", bool(true));
  }
}

/** Whether an entry may change child links: no, yes, or mostly (right after the node was added). */
type Links = "no" | "yes" | "prefer";

/** The changes of one entry (possibly none). */
function changes(ctx: GenContext, node: GenNode, links: Links): FuzzOption[] {
  const { rng } = ctx;
  const isQcow2 = node.driver === "qcow2";
  const hasLink = FORMAT_OR_FILTER.has(node.driver);
  const link = links === "no" || !hasLink ? 0 : links === "prefer" ? 2.5 : 1;
  const q = isQcow2 ? link : 0;
  const kind = rng.weighted({
    readOnly: 5,
    relink: 5 * link,
    backing: 2.5 * q,
    fileAndBacking: 1.5 * q,
    inline: 1.5 * link,
    alter: 1,
    none: 1,
  });
  switch (kind) {
    case "readOnly":
      return [opt("read-only", bool(!node.readOnly))];
    case "relink": {
      const v = relinkTarget(ctx, node);
      return v ? [opt(linkKey(node.driver), v)] : [];
    }
    case "backing": {
      const r = rng.next();
      if (r < 0.35) return [opt("backing", { kind: "null" })];
      const v = r < 0.6 ? refValue(ctx, node.children.get("file")) : refValue(ctx, pickExisting(ctx, "qcow2-file", [node]));
      return v ? [opt("backing", v)] : [];
    }
    case "fileAndBacking": {
      const v = rng.chance(0.5) ? refValue(ctx, node.children.get("file")) : refValue(ctx, pickExisting(ctx, "qcow2-file", [node]));
      return v ? [opt("file", v), opt("backing", v)] : [];
    }
    case "inline":
      return [opt(linkKey(node.driver), childValue(ctx, isQcow2 ? "qcow2-file" : "any", true))];
    case "alter": {
      const o = altered(ctx, node);
      return o ? [o] : [];
    }
    case "none":
      return [];
  }
}

/**
 * An auto-named node has no options the runner tracks: it sends the driver and node-name, so a
 * format or filter node also needs its child (a throttle node its group, a file node its filename)
 * to get past QAPI to the block layer.
 */
function requiredForImplicit(ctx: GenContext, node: GenNode, given: FuzzOption[]): FuzzOption[] {
  if (node.name !== undefined || !(FORMAT_OR_FILTER.has(node.driver) || node.driver === "file")) return given;
  const out = [...given];
  if (node.driver === "file" && node.image !== undefined && !out.some((o) => o.key === "filename")) {
    out.unshift(opt("filename", word(node.image)));
    return out;
  }
  const key = linkKey(node.driver);
  if (!out.some((o) => o.key === key)) {
    const v = refValue(ctx, node.children.get(key));
    if (v) out.unshift(opt(key, v));
  }
  // Without its backing, a qcow2 that has one fails before the new links are even looked at.
  const backing = node.driver === "qcow2" ? refValue(ctx, node.children.get("backing")) : undefined;
  if (backing && !out.some((o) => o.key === "backing") && ctx.rng.chance(0.8)) out.push(opt("backing", backing));
  if (node.driver === "throttle" && !out.some((o) => o.key === "throttle-group") && ctx.world.groups.length > 0) {
    out.unshift(opt("throttle-group", word(ctx.world.groups[0]!)));
  }
  return out;
}

function entryFor(ctx: GenContext, node: GenNode, links: Links): FuzzReopenEntry {
  return { node: ctx.world.ref(node)!, options: requiredForImplicit(ctx, node, changes(ctx, node, links)) };
}

/** `reopen raw NODE driver=… …`: exactly what is written, usually too little. */
function rawEntry(ctx: GenContext, node: GenNode): FuzzReopenEntry {
  const { rng } = ctx;
  const out: FuzzOption[] = [opt("driver", word(node.driver))];
  if (node.image !== undefined) out.push(opt("filename", word(node.image)));
  for (const [edge, child] of node.children) {
    const v = refValue(ctx, child);
    if (v && rng.chance(0.85)) out.push(opt(edge, v));
  }
  if (node.driver === "throttle" && ctx.world.groups.length > 0) out.push(opt("throttle-group", word(ctx.world.groups[0]!)));
  if (rng.chance(0.5)) out.push(opt("read-only", bool(!node.readOnly)));
  return { node: ctx.world.ref(node)!, options: out };
}

/** Several entries in one transaction: a node and some below it, or nodes picked at random. */
function transactionEntries(ctx: GenContext, nodes: GenNode[]): FuzzReopenEntry[] {
  const { rng, world } = ctx;
  const parents = nodes.filter((n) => n.children.size > 0);
  if (parents.length > 0 && rng.chance(0.55)) {
    const top = rng.pick(parents);
    const below = world.descendants(top).filter((n) => world.ref(n) !== undefined);
    const picked = rng.subset(below, 0.6).slice(0, 4);
    if (picked.length === 0 && below.length > 0) picked.push(rng.pick(below));
    const head = entryFor(ctx, top, "yes");
    if (rng.chance(0.6)) {
      // Move the top's link away from the child that is also in the transaction.
      const key = linkKey(top.driver);
      const v = relinkTarget(ctx, top) ?? (rng.chance(0.5) ? childValue(ctx, "any", true) : undefined);
      if (v) head.options = [...head.options.filter((o) => o.key !== key), opt(key, v)];
    }
    const rest = picked.map((n) => entryFor(ctx, n, "no"));
    return rng.chance(0.5) ? [head, ...rest] : [...rest, head];
  }
  const count = Math.min(nodes.length, rng.int(2, 6));
  const pool = [...nodes];
  const chosen: GenNode[] = [];
  while (chosen.length < count && pool.length > 0) chosen.push(pool.splice(rng.int(0, pool.length - 1), 1)[0]!);
  if (rng.chance(0.08)) chosen.push(rng.pick(chosen));
  const linker = rng.chance(0.35) ? rng.int(0, chosen.length - 1) : -1;
  return chosen.map((n, i) => entryFor(ctx, n, i === linker ? "yes" : "no"));
}

/** A reopen of one node, links allowed to change (the generator's follow-up to an `add`). */
export function reopenOf(ctx: GenContext, node: GenNode): FuzzStatement {
  return { kind: "reopen", raw: false, block: false, entries: [entryFor(ctx, node, "prefer")] };
}

/** copy-on-read and compress cannot be reopened at all in QEMU 7.2: reopen them rarely. */
function reopenWeight(n: GenNode): number {
  return n.driver === "copy-on-read" || n.driver === "compress" ? 0.15 : 1;
}

function pickWeighted(ctx: GenContext, nodes: readonly GenNode[]): GenNode {
  let r = ctx.rng.next() * nodes.reduce((a, n) => a + reopenWeight(n), 0);
  for (const n of nodes) {
    r -= reopenWeight(n);
    if (r < 0) return n;
  }
  return nodes[nodes.length - 1]!;
}

/** A reopen statement, or undefined when there is nothing to reopen. */
export function reopenStatement(ctx: GenContext): FuzzStatement | undefined {
  const { rng, world } = ctx;
  const nodes = world.referable();
  if (nodes.length === 0) return undefined;
  const owned = nodes.filter((n) => n.owned);
  const form = rng.weighted({ single: 6, transaction: nodes.length >= 2 ? 4 : 0, raw: 1 });
  if (form === "transaction") return { kind: "reopen", raw: false, block: true, entries: transactionEntries(ctx, nodes) };
  const node = owned.length > 0 && rng.chance(0.55) ? pickWeighted(ctx, owned) : pickWeighted(ctx, nodes);
  if (form === "raw") return { kind: "reopen", raw: true, block: false, entries: [rawEntry(ctx, node)] };
  return { kind: "reopen", raw: false, block: false, entries: [entryFor(ctx, node, "yes")] };
}

/** What the generator believes after a reopen the model took (`succeeded`) or refused. */
export function believeReopen(ctx: GenContext, s: Extract<FuzzStatement, { kind: "reopen" }>, succeeded: boolean): void {
  const { world } = ctx;
  const targets = s.entries.map((e) => world.resolve(e.node));
  s.entries.forEach((e, i) => {
    const n = targets[i];
    if (n) (succeeded ? world.reopen(n, e.options) : world.refusedReopen(n, e.options));
  });
}
