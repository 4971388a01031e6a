/**
 * The generator's node commands: QMP commands other than blockdev-add, -reopen and -del that act on
 * a named node: `block_resize`, dirty bitmaps (add, remove, clear, enable, disable, merge, and a
 * `transaction` of bitmap actions, and the sha256 of a bitmap's bits), `block-set-write-threshold`,
 * external snapshots (`blockdev-snapshot-sync`, `blockdev-snapshot`), `change-backing-file` and
 * quorum's `x-blockdev-change`. Each meets the
 * graph the case built: permissions a resize needs, bitmaps that reopens, jobs and writes carry,
 * overlays that take over a node's parents.
 */
import type { GenContext } from "./gen-context.js";
import { opt, word } from "./gen-context.js";
import { rootOf } from "./gen-misc.js";
import type { GenNode } from "./gen-world.js";
import { CHILD_LIST_KEY } from "./gen-world.js";
import type { FuzzStatement } from "./scenario-ir.js";

type Qmp = Extract<FuzzStatement, { kind: "qmp" }>;

/** Sizes a resize asks for: the images' own, larger, smaller, none, and two QEMU refuses (not whole sectors). */
const RESIZE_SIZES = [0, 65536, 524288, 1048576, 1049088, 2097152, 4194304, 3000000, 1048577] as const;
/** Bitmap granularities: QEMU's smallest, common ones, its largest, and two it refuses. */
/** How often a new bitmap is persistent: mostly on qcow2, which stores it, rarely elsewhere. */
function persistentChance(driver: string | undefined): number {
  return driver === "qcow2" ? 0.4 : 0.03;
}

const GRANULARITIES = [512, 4096, 65536, 2097152, 2147483648, 1000, 256] as const;
const THRESHOLDS = [0, 4096, 65536, 1048576] as const;

/** Step weight of a case with node commands (added to generator.ts's). */
export function commandWeights(ctx: GenContext): { command: number } {
  return { command: ctx.commands && named(ctx).length > 0 ? 3 : 0 };
}

function named(ctx: GenContext): GenNode[] {
  return ctx.world.referable().filter((n) => n.name !== undefined && !n.retired);
}

/** A bitmap the case added (and did not see removed) on a node, or a name none has. */
function someBitmap(ctx: GenContext): { node: string; name: string } | undefined {
  const live = ctx.world.bitmaps.filter((b) => ctx.world.byName(b.node) !== undefined);
  if (live.length === 0) return undefined;
  const b = ctx.rng.pick(live);
  return ctx.rng.chance(0.1) ? { node: b.node, name: "nosuch" } : b;
}

function bitmapAction(type: string, b: { node: string; name: string }): unknown {
  return { type, data: { node: b.node, name: b.name } };
}

async function steerQmp(ctx: GenContext, command: string, args: Record<string, unknown>): Promise<boolean> {
  const s: Qmp = { kind: "qmp", command, args };
  const out = await ctx.steer(s);
  return out.kind === "ran" && out.failed.length === 0;
}

/** Now and then, what a command changed, as `show node` writes it. */
async function showAfter(ctx: GenContext, node: string, key: string): Promise<void> {
  if (ctx.rng.chance(0.4)) await ctx.steer({ kind: "show-node", node, keys: [key] });
}

export async function commandStep(ctx: GenContext): Promise<void> {
  const { rng, world } = ctx;
  const nodes = named(ctx);
  if (nodes.length === 0) return;
  const node = rng.pick(nodes);
  const name = node.name!;
  const bitmap = someBitmap(ctx);
  const quorums = nodes.filter((n) => n.driver === "quorum");
  const kind = rng.weighted({
    resize: 3,
    "bitmap-add": 2,
    "bitmap-verb": bitmap ? 1.5 : 0,
    "bitmap-merge": bitmap ? 0.4 : 0,
    "bitmap-sha256": bitmap ? 0.8 : 0,
    "bitmap-transaction": 0.5,
    threshold: 0.6,
    "snapshot-sync": 0.8,
    snapshot: 0.6,
    "quorum-change": quorums.length > 0 ? 0.8 : 0,
    "change-backing-file": 0.5,
  });
  switch (kind) {
    case "resize":
      if (await steerQmp(ctx, "block_resize", { "node-name": name, size: rng.pick(RESIZE_SIZES) })) await showAfter(ctx, name, "image.virtual-size");
      return;
    case "bitmap-add": {
      const existing = world.bitmaps.filter((b) => b.node === name);
      const bname = existing.length > 0 && rng.chance(0.15) ? rng.pick(existing).name : world.fresh("bm");
      const args: Record<string, unknown> = { node: name, name: bname };
      if (rng.chance(0.3)) args.granularity = rng.pick(GRANULARITIES);
      if (rng.chance(0.2)) args.disabled = true;
      // Stored in a qcow2 image when its node closes or goes read-only, loaded when it opens again;
      // other drivers refuse it (and the case loses a bitmap to use).
      if (rng.chance(persistentChance(node.driver))) args.persistent = true;
      if (await steerQmp(ctx, "block-dirty-bitmap-add", args)) {
        world.bitmaps.push({ node: name, name: bname });
        await showAfter(ctx, name, "dirty-bitmaps");
      }
      return;
    }
    case "bitmap-verb": {
      const verb = rng.weighted({ remove: 1, clear: 1, enable: 0.6, disable: 0.6 });
      if (!(await steerQmp(ctx, `block-dirty-bitmap-${verb}`, { node: bitmap!.node, name: bitmap!.name }))) return;
      if (verb === "remove") world.bitmaps.splice(world.bitmaps.findIndex((b) => b.node === bitmap!.node && b.name === bitmap!.name), 1);
      await showAfter(ctx, bitmap!.node, "dirty-bitmaps");
      return;
    }
    case "bitmap-merge": {
      // Sources by name on the target's node, or by node and name anywhere (another node's may differ in size).
      const sources = rng.subset(world.bitmaps, 0.5).map((b) => (b.node === bitmap!.node && rng.chance(0.6) ? b.name : { node: b.node, name: b.name }));
      if (await steerQmp(ctx, "block-dirty-bitmap-merge", { node: bitmap!.node, target: bitmap!.name, bitmaps: sources })) await showAfter(ctx, bitmap!.node, "dirty-bitmaps");
      return;
    }
    case "bitmap-sha256":
      // The bits themselves: what each write, resize and merge set, at the bitmap's granularity.
      await steerQmp(ctx, "x-debug-block-dirty-bitmap-sha256", { node: bitmap!.node, name: bitmap!.name });
      return;
    case "change-backing-file": {
      // Mostly through the node's root as the device, which QEMU wants; the name written goes
      // into the image's header only (a later open of the image looks for it).
      const root = rootOf(ctx, name);
      const device = root?.name !== undefined && rng.chance(0.8) ? root.name : name;
      const backing = rng.pick(["base.qcow2", "$TEST_DIR/base.qcow2", "nosuch.qcow2", ""]);
      if (await steerQmp(ctx, "change-backing-file", { device, "image-node-name": name, "backing-file": backing })) await showAfter(ctx, name, "image.backing-filename");
      return;
    }
    case "bitmap-transaction": {
      // Grouped actions: one that QEMU refuses rolls back the ones before it.
      const actions: unknown[] = [];
      const added: Array<{ node: string; name: string }> = [];
      for (let i = rng.int(2, 3); i > 0; i--) {
        const b = someBitmap(ctx);
        const action = rng.weighted({ add: 2, clear: b ? 1 : 0, remove: b ? 0.8 : 0, enable: b ? 0.4 : 0, disable: b ? 0.4 : 0 });
        if (action === "add") {
          const targetNode = rng.pick(nodes);
          const target = targetNode.name!;
          const bname = added.length > 0 && rng.chance(0.15) ? added[0]!.name : world.fresh("bm");
          added.push({ node: target, name: bname });
          const extra = { ...(rng.chance(0.2) ? { granularity: rng.pick(GRANULARITIES) } : {}), ...(rng.chance(persistentChance(targetNode.driver)) ? { persistent: true } : {}) };
          actions.push({ type: "block-dirty-bitmap-add", data: { node: target, name: bname, ...extra } });
        } else actions.push(bitmapAction(`block-dirty-bitmap-${action}`, b!));
      }
      if (await steerQmp(ctx, "transaction", { actions })) {
        world.bitmaps.push(...added);
        for (const a of actions as Array<{ type: string; data: { node: string; name: string } }>) {
          if (a.type === "block-dirty-bitmap-remove") world.bitmaps.splice(world.bitmaps.findIndex((b) => b.node === a.data.node && b.name === a.data.name), 1);
        }
      }
      return;
    }
    case "threshold":
      if (await steerQmp(ctx, "block-set-write-threshold", { "node-name": name, "write-threshold": rng.pick(THRESHOLDS) })) await showAfter(ctx, name, "write_threshold");
      return;
    case "snapshot-sync": {
      const file = `${world.fresh("sn")}.qcow2`;
      const overlay = file.replace(".qcow2", "");
      const args: Record<string, unknown> = { "node-name": name, "snapshot-file": `$TEST_DIR/${file}`, "snapshot-node-name": overlay };
      if (rng.chance(0.2)) {
        ctx.sizedImage(file, rng.pick([1048576, 2097152]));
        args.mode = "existing";
      } else world.images.add(file);
      if (rng.chance(0.1)) args.format = "raw";
      // The overlay stays only where the node's parents took it (bdrv_append): later steps may
      // name it then (blockdev-del refuses it: it is not the monitor's).
      if ((await steerQmp(ctx, "blockdev-snapshot-sync", args)) && (await ctx.nodeSize(overlay)) !== undefined) {
        world.syncOverlay(overlay, typeof args.format === "string" ? args.format : "qcow2", file, node);
      }
      return;
    }
    case "snapshot": {
      // An overlay made for it most of the time (a qcow2 without a backing link), else any named node.
      let overlay: GenNode | undefined;
      if (rng.chance(0.7)) {
        const file = ctx.sizedImage(`${world.fresh("ov")}.qcow2`, 1048576);
        const spec = { name: world.fresh("o"), driver: "qcow2", options: [opt("file", { kind: "child", driver: "file", options: [opt("filename", word(file))] }), opt("backing", { kind: "null" })] };
        const out = await ctx.steer({ kind: "add", node: spec });
        if (out.kind !== "ran" || out.failed.length > 0) return;
        overlay = world.add(spec);
      } else overlay = rng.pick(nodes);
      if (await steerQmp(ctx, "blockdev-snapshot", { node: name, overlay: overlay.name! })) world.append(overlay, node);
      return;
    }
    case "quorum-change": {
      const q = rng.pick(quorums);
      const edges = [...q.children.keys()].filter((e) => e.startsWith(`${CHILD_LIST_KEY}.`));
      if (edges.length > 0 && rng.chance(0.5)) {
        const edge = rng.chance(0.1) ? `${CHILD_LIST_KEY}.9` : rng.pick(edges);
        if (await steerQmp(ctx, "x-blockdev-change", { parent: q.name!, child: edge })) q.children.delete(edge);
      } else {
        const child = rng.pick(nodes);
        if (await steerQmp(ctx, "x-blockdev-change", { parent: q.name!, node: child.name! })) {
          // Near enough for the belief: quorum_add_child names it by s->next_child_index, which only
          // a deletion of the highest-numbered child takes back.
          const next = Math.max(-1, ...edges.map((e) => Number(e.slice(CHILD_LIST_KEY.length + 1)))) + 1;
          q.children.set(`${CHILD_LIST_KEY}.${next}`, child);
        }
      }
      return;
    }
  }
}
