/**
 * The generator's AioContexts: iothreads made and deleted, nodes moved into them by
 * `x-blockdev-set-iothread` and by exports, so that the reopens, adds and dels around them meet
 * graphs whose parts run in different contexts (and QEMU 7.2's crashes when an iothread a node
 * still runs in is deleted).
 */
import type { GenContext } from "./gen-context.js";
import type { FuzzStatement } from "./scenario-ir.js";

/** Step weights of a case with iothreads (added to generator.ts's). */
export function iothreadWeights(ctx: GenContext): { iothread: number; "set-iothread": number; "iothread-del": number } {
  if (!ctx.contexts) return { iothread: 0, "set-iothread": 0, "iothread-del": 0 };
  const live = ctx.world.iothreads.length;
  const named = ctx.world.referable().some((n) => n.name !== undefined);
  return { iothread: live === 0 ? 3 : live === 1 ? 0.4 : 0, "set-iothread": live > 0 && named ? 4 : 0, "iothread-del": live > 0 ? 0.6 : 0 };
}

export async function iothreadStep(ctx: GenContext, kind: keyof ReturnType<typeof iothreadWeights>): Promise<void> {
  const { rng, world } = ctx;
  switch (kind) {
    case "iothread": {
      const id = world.fresh("io");
      const out = await ctx.steer({ kind: "iothread", id });
      if (out.kind === "ran" && out.failed.length === 0) world.iothreads.push(id);
      return;
    }
    case "set-iothread": {
      // The QMP command takes a node name only: auto-named nodes have none a scenario can give.
      const named = world.referable().filter((n) => n.name !== undefined);
      if (named.length === 0 || world.iothreads.length === 0) return;
      const node = rng.pick(named).name!;
      const iothread = rng.chance(0.25) ? null : rng.pick(world.iothreads);
      await ctx.steer({ kind: "set-iothread", node, iothread, force: rng.chance(0.3) });
      return;
    }
    case "iothread-del": {
      const id = rng.pick(world.iothreads);
      await ctx.steer({ kind: "iothread-del", id });
      // Even where QEMU refuses, the checker counts it deleted: nothing may name it again.
      world.iothreads.splice(world.iothreads.indexOf(id), 1);
      return;
    }
  }
}

/** What an export adds in a case with iothreads: the iothread it moves the node into, sometimes fixed. */
export function exportContext(ctx: GenContext): Pick<Extract<FuzzStatement, { kind: "export" }>, "iothread" | "fixed"> {
  const { rng, world } = ctx;
  if (!ctx.contexts || world.iothreads.length === 0 || !rng.chance(0.6)) return {};
  return { iothread: rng.pick(world.iothreads), ...(rng.chance(0.5) ? { fixed: true } : {}) };
}
