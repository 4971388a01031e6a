/** The generator's other statements: `del`, `export`/`unexport` and `show`. */
import type { GenContext } from "./gen-context.js";
import type { GenNode } from "./gen-world.js";
import type { FuzzStatement } from "./scenario-ir.js";

/** The root a reference hangs from: the node itself when it is one, else the root of its `add`. */
export function rootOf(ctx: GenContext, ref: string): GenNode | undefined {
  const node = ctx.world.resolve(ref) ?? ctx.world.byName(ref.split("/")[0]!);
  if (!node) return undefined;
  if (node.owned) return node;
  const pathRoot = ctx.world.byName(ref.split("/")[0]!);
  if (pathRoot?.owned) return pathRoot;
  return node.addedWith && !node.addedWith.dead ? node.addedWith : undefined;
}

/** `del` of a root mostly (in use or not); sometimes of an inline node, which QEMU refuses. */
export function delStatement(ctx: GenContext): FuzzStatement | undefined {
  const { rng, world } = ctx;
  const owned = world.owned();
  const others = world.referable().filter((n) => !n.owned);
  const node = owned.length > 0 && (others.length === 0 || rng.chance(0.85)) ? rng.pick(owned) : others.length > 0 ? rng.pick(others) : undefined;
  const ref = node && world.ref(node);
  return ref === undefined ? undefined : { kind: "del", node: ref };
}

/** Record a `del`: for the checker a named node is gone whether QEMU agreed or not. */
export function believeDel(ctx: GenContext, s: Extract<FuzzStatement, { kind: "del" }>, succeeded: boolean): void {
  const node = ctx.world.resolve(s.node);
  // Only a plain name deletes anything in the checker's eyes; a path stays usable.
  if (node && !s.node.includes("/")) ctx.world.del(node, succeeded);
}

export function exportStatement(ctx: GenContext): FuzzStatement | undefined {
  const { rng, world } = ctx;
  const nodes = world.referable();
  if (nodes.length === 0) return undefined;
  const node = world.ref(rng.pick(nodes))!;
  const id = world.fresh("e");
  return { kind: "export", node, writable: rng.chance(0.5), id };
}

/** `unexport` of a live export; for the checker it is gone afterwards, whatever QEMU said. */
export function unexportStatement(ctx: GenContext): FuzzStatement | undefined {
  const { rng, world } = ctx;
  if (world.exports.length === 0) return undefined;
  const [e] = world.exports.splice(rng.int(0, world.exports.length - 1), 1);
  return { kind: "unexport", id: e!.id };
}

export function showStatement(ctx: GenContext): FuzzStatement {
  return { kind: "show", what: ctx.rng.chance(0.7) ? "graph" : "nodes" };
}
