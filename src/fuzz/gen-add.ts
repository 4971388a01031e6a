/**
 * New nodes for `add` and `graph { … }`: every driver the model has, children given inline (often
 * named, sometimes nested: a qcow2 inline under a filter) or by reference to a node that already has
 * parents, and a qcow2 whose backing is its own file node — the shapes QEMU 7.2 breaks on.
 */
import { bool, opt, word, type GenContext } from "./gen-context.js";
import { IMAGES, OTHER_FORMATS, type GenNode } from "./gen-world.js";
import type { Prng } from "./prng.js";
import { spacedJson } from "./render.js";
import type { FuzzNode, FuzzOption, FuzzValue } from "./scenario-ir.js";

const FILTERS = ["copy-on-read", "throttle", "blkdebug", "preallocate", "compress"] as const;
/** Drivers with more than one child: where permission and reopen bugs live. */
const SEVERAL_CHILDREN = ["quorum", "blkverify", "copy-before-write", "blklogwrites"] as const;
const PERMS = ["consistent-read", "write", "write-unchanged", "resize"] as const;
const QCOW2_IMAGES = Object.keys(IMAGES).filter((p) => IMAGES[p]!.format === "qcow2" && p !== "base.qcow2");
/** The qcow2 and raw images: what a file node of any parent opens. */
const ALL_IMAGES = Object.keys(IMAGES).filter((p) => p !== "base.qcow2" && (IMAGES[p]!.format === "qcow2" || IMAGES[p]!.format === "raw"));
/** Protocol drivers for host devices: on the scratch directory's regular files they refuse to open. */
const DEVICES = ["host_device", "host_cdrom"] as const;

/**
 * What a child is for: a qcow2's file must hold a qcow2 image; compress writes compressed, which
 * only a qcow2 node below it can; other parents take anything.
 */
type Purpose = "qcow2-file" | "compress" | "any";

/**
 * The events blkdebug's rules wait for: those the model follows below raw and qcow2 (the events
 * of their guest data, the generic write path's and flush's, `none` at open), and now and then
 * one of qcow2's metadata, which the model refuses.
 */
const RULE_EVENTS = ["read_aio", "write_aio", "read_backing_aio", "cow_read", "cow_write", "read_compressed", "write_compressed", "cluster_alloc_space", "flush_to_os", "flush_to_disk", "pwritev", "none"];
/** Sectors of the first clusters of a fresh qcow2 image (header, refcount table and block, L1, L2, data) and of raw data. */
const RULE_SECTORS = [0, 8, 128, 256, 384, 512, 640, 768];

/** blkdebug `inject-error` rules (and now and then a `set-state` one) for a node, or none (70%). */
function blkdebugRules(rng: Prng): FuzzOption[] {
  if (!rng.chance(0.3)) return [];
  const rules: Array<Record<string, unknown>> = [];
  for (let i = rng.int(1, 2); i > 0; i--) {
    const rule: Record<string, unknown> = { event: rng.chance(0.05) ? "l2_load" : rng.pick(RULE_EVENTS), errno: rng.pick([5, 28]) };
    if (rng.chance(0.6)) rule["once"] = true;
    if (rng.chance(0.3)) rule["sector"] = rng.pick(RULE_SECTORS);
    if (rng.chance(0.15)) rule["iotype"] = rng.pick(["read", "write", "write-zeroes", "discard", "flush"]);
    if (rng.chance(0.15)) rule["immediately"] = true;
    if (rng.chance(0.15)) rule["state"] = 2;
    rules.push(rule);
  }
  const out = [opt("inject-error", { kind: "json", text: spacedJson(rules) })];
  if (rng.chance(0.3)) out.push(opt("set-state", { kind: "json", text: spacedJson([{ event: rng.pick(RULE_EVENTS), state: 1, new_state: 2 }]) }));
  return out;
}

/** The child link of a driver: blkdebug calls it `image`. */
export function linkKey(driver: string): string {
  return driver === "blkdebug" ? "image" : "file";
}

function hasCopyOnRead(ctx: GenContext, node: GenNode): boolean {
  return [node, ...ctx.world.descendants(node)].some((n) => n.driver === "copy-on-read");
}

/**
 * An existing node to use as a child. Nodes that already have parents weigh more (a node shared by
 * several parents); a qcow2's file prefers nodes over a qcow2 image, and never reads through a
 * copy-on-read node (QEMU then writes into the image below, which the model does not follow).
 */
export function pickExisting(ctx: GenContext, purpose: Purpose, except: readonly GenNode[] = []): GenNode | undefined {
  const { rng, world } = ctx;
  const weights = new Map<GenNode, number>();
  for (const n of world.referable()) {
    if (except.includes(n)) continue;
    if (purpose === "qcow2-file" && hasCopyOnRead(ctx, n)) continue;
    let w = world.parents(n).length > 0 ? 2 : 1;
    if (purpose === "qcow2-file") w *= IMAGES[world.imageBelow(n) ?? ""]?.format === "qcow2" ? 3 : 0.2;
    if (purpose === "compress") w *= n.driver === "qcow2" ? 5 : 0.1;
    // A read-only node under a new writer is refused; keep that a minority.
    if (n.readOnly) w *= 0.4;
    weights.set(n, w);
  }
  if (weights.size === 0) return undefined;
  let r = rng.next() * [...weights.values()].reduce((a, b) => a + b, 0);
  for (const [n, w] of weights) {
    r -= w;
    if (r < 0) return n;
  }
  return [...weights.keys()].pop();
}

/** Options every driver takes: read-only mostly, the rest rarely. */
function commonOptions(ctx: GenContext, pReadOnly: number): FuzzOption[] {
  const { rng } = ctx;
  const out: FuzzOption[] = [];
  const ro = rng.chance(pReadOnly);
  if (ro) out.push(opt("read-only", bool(true)));
  if (ro && rng.chance(0.05)) out.push(opt("force-share", bool(true)));
  if (rng.chance(0.03)) out.push(opt("detect-zeroes", word(rng.pick(["on", "off"]))));
  if (rng.chance(0.03)) out.push(opt("discard", word(rng.pick(["unmap", "ignore"]))));
  return out;
}

function fileOptions(ctx: GenContext, images: readonly string[]): FuzzOption[] {
  const { rng } = ctx;
  const out = [opt("filename", word(ctx.image(rng.pick(images))))];
  if (rng.chance(0.06)) out.push(opt("locking", word("off")));
  if (rng.chance(0.04)) out.push(opt("aio", word("threads")));
  return out;
}

/**
 * An inline child; in an `add`, named now and then (a named inline child can be reopened by name).
 * A reopen's inline children stay unnamed: the checker knows only names that `add` declares.
 */
function inlineChild(ctx: GenContext, purpose: Purpose | "any-qcow2", depth: number, named: boolean): FuzzValue {
  const { rng, world } = ctx;
  const name = named && rng.chance(0.35) ? world.fresh("c") : undefined;
  const nameOpt = name !== undefined ? { name } : {};
  const ro = rng.chance(0.08) ? [opt("read-only", bool(true))] : [];
  if (purpose === "compress") return inlineChild(ctx, rng.chance(0.85) ? "any-qcow2" : "any", depth, named);
  if (purpose === "qcow2-file") {
    if (depth < 2 && rng.chance(0.12)) {
      const driver = rng.pick(["preallocate", "raw", "throttle"] as const);
      const extra = driver === "throttle" ? [opt("throttle-group", word(ctx.throttleGroup()))] : [];
      return { kind: "child", ...nameOpt, driver, options: [...extra, opt("file", inlineChild(ctx, "qcow2-file", depth + 1, named)), ...ro] };
    }
    return { kind: "child", ...nameOpt, driver: "file", options: [...fileOptions(ctx, QCOW2_IMAGES), ...ro] };
  }
  const kind = purpose === "any-qcow2" ? "qcow2" : rng.weighted({ file: 3.5, null: 2.5, qcow2: depth < 2 ? 3 : 0, raw: depth < 2 ? 1 : 0 });
  switch (kind) {
    case "file":
      return { kind: "child", ...nameOpt, driver: "file", options: [...fileOptions(ctx, ALL_IMAGES), ...ro] };
    case "null":
      return { kind: "child", ...nameOpt, driver: "null-co", options: ro };
    case "qcow2": {
      // Its file is often an existing node, so that it too can be the backing.
      const existing = rng.chance(0.4) ? pickExisting(ctx, "qcow2-file") : undefined;
      const ref = existing && world.ref(existing);
      const file = ref !== undefined ? word(ref) : inlineChild(ctx, "qcow2-file", depth + 1, named);
      return { kind: "child", ...nameOpt, driver: "qcow2", options: [...qcow2Options(ctx, file), ...ro] };
    }
    case "raw":
      return { kind: "child", ...nameOpt, driver: "raw", options: [opt("file", inlineChild(ctx, "any", depth + 1, named)), ...ro] };
  }
}

/**
 * A child value: an existing node (by name or path) about half the time, else an inline one, which
 * may be named only in an `add` (`inReopen` false).
 */
export function childValue(ctx: GenContext, purpose: Purpose, inReopen = false): FuzzValue {
  const f = ctx.focus;
  const focus = f && !f.dead && !(purpose === "qcow2-file" && hasCopyOnRead(ctx, f)) ? ctx.world.ref(f) : undefined;
  // Stack the new node on the one added last, so chains of parents grow.
  if (!inReopen && focus !== undefined && ctx.rng.chance(0.3)) return word(focus);
  if (ctx.rng.chance(0.5)) {
    const n = pickExisting(ctx, purpose);
    const ref = n && ctx.world.ref(n);
    if (ref !== undefined) return word(ref);
  }
  return inlineChild(ctx, purpose, inReopen ? 1 : 0, !inReopen);
}

/** A qcow2's file (given) and backing: its own file node now and then, none, or another node. */
function qcow2Options(ctx: GenContext, file: FuzzValue): FuzzOption[] {
  const { rng, world } = ctx;
  const out = [opt("file", file)];
  const r = rng.next();
  if (r < 0.3) {
    // One node as both the file and the backing of this qcow2.
    const same = file.kind === "word" ? file : (() => {
      const n = pickExisting(ctx, "qcow2-file");
      return n && world.ref(n) !== undefined ? word(world.ref(n)!) : undefined;
    })();
    if (same) {
      out[0] = opt("file", same);
      out.push(opt("backing", same));
    }
  } else if (r < 0.4) out.push(opt("backing", { kind: "null" }));
  else if (r < 0.55) {
    const n = pickExisting(ctx, "qcow2-file");
    const ref = n && world.ref(n);
    if (ref !== undefined) out.push(opt("backing", word(ref)));
  }
  return out;
}

function driverOptions(ctx: GenContext, driver: string): FuzzOption[] {
  const { rng } = ctx;
  switch (driver) {
    case "file":
      return fileOptions(ctx, ALL_IMAGES);
    case "null-co":
      return rng.chance(0.1) ? [opt("size", { kind: "number", value: 1 << 20 })] : [];
    case "raw": {
      const out = [opt("file", childValue(ctx, "any"))];
      if (rng.chance(0.12)) out.push(opt("offset", { kind: "number", value: rng.pick([0, 512, 4096]) }));
      if (rng.chance(0.1)) out.push(opt("size", { kind: "number", value: rng.pick([4096, 65536]) }));
      return out;
    }
    case "qcow2":
      return qcow2Options(ctx, childValue(ctx, "qcow2-file"));
    case "blkdebug": {
      const out = [opt("image", childValue(ctx, "any"))];
      if (rng.chance(0.4)) out.push(opt("take-child-perms", { kind: "list", items: rng.subset(PERMS, 0.35) }));
      if (rng.chance(0.4)) out.push(opt("unshare-child-perms", { kind: "list", items: rng.subset(PERMS, 0.35) }));
      if (rng.chance(0.08)) out.push(opt("align", { kind: "number", value: 4096 }));
      out.push(...blkdebugRules(ctx.blkdebugRng));
      return out;
    }
    case "throttle":
      return [opt("throttle-group", word(ctx.throttleGroup())), opt("file", childValue(ctx, "any"))];
    case "compress":
      return [opt("file", childValue(ctx, "compress"))];
    case "null-aio":
      return rng.chance(0.3) ? [opt("read-zeroes", bool(rng.chance(0.5)))] : [];
    case "quorum": {
      // Children by reference (the language's lists hold words); lengths often differ, which QEMU refuses.
      const picked: string[] = [];
      for (let i = rng.int(1, 3); i > 0; i--) {
        const n = pickExisting(ctx, "any");
        const ref = n && ctx.world.ref(n);
        if (ref !== undefined) picked.push(ref);
      }
      if (picked.length === 0) return [];
      const threshold = rng.chance(0.85) ? rng.int(1, picked.length) : picked.length + 1;
      const out = [opt("children", { kind: "list", items: picked }), opt("vote-threshold", { kind: "number", value: threshold })];
      if (rng.chance(0.15)) out.push(opt("read-pattern", word(rng.pick(["quorum", "fifo"]))));
      return out;
    }
    case "blkverify":
      return [opt("raw", childValue(ctx, "any")), opt("test", childValue(ctx, "any"))];
    case "copy-before-write":
      return [opt("file", childValue(ctx, "any")), opt("target", childValue(ctx, "any"))];
    case "blklogwrites":
      return [opt("file", childValue(ctx, "any")), opt("log", childValue(ctx, "any"))];
    case "host_device":
    case "host_cdrom":
      return fileOptions(ctx, ALL_IMAGES);
    case "nbd":
      // No server listens there: an nbd client of its own process's export hangs QEMU 7.2.
      return [opt("server.type", word("unix")), opt("server.path", word("nosuch.sock")), opt("export", word("x"))];
    case "luks":
      // Without a secret: QEMU's refusal, whatever the file holds.
      return [opt("file", childValue(ctx, "any"))];
    case "snapshot-access": {
      // Mostly over a copy-before-write node (the only driver with the snapshot API), else anything.
      const cbw = ctx.world.referable().filter((n) => n.driver === "copy-before-write");
      const ref = cbw.length > 0 && rng.chance(0.8) ? ctx.world.ref(rng.pick(cbw)) : undefined;
      return [opt("file", ref !== undefined ? word(ref) : childValue(ctx, "any"))];
    }
    default:
      if ((OTHER_FORMATS as readonly string[]).includes(driver) && rng.chance(0.75)) {
        // Mostly over an image of its own format (an inline file node), else over anything.
        const own = Object.keys(IMAGES).find((p) => IMAGES[p]!.format === driver)!;
        return [opt("file", { kind: "child", driver: "file", options: [opt("filename", word(ctx.image(own)))] })];
      }
      return [opt("file", childValue(ctx, "any"))];
  }
}

/** A new node of some driver, with a fresh name. */
export function newNode(ctx: GenContext): FuzzNode {
  const { rng, world } = ctx;
  const more = ctx.severalChildren ? 1 : 0;
  const kind = rng.weighted({
    file: 2.5,
    "null-co": 1.5,
    "null-aio": 0.5 * more,
    raw: 2.5,
    qcow2: 4,
    filter: 5,
    several: 2 * more,
    format: 4 * more,
    device: 0.6 * more,
    nbd: 0.2 * more,
    luks: 0.3 * more,
    "snapshot-access": 0.4 * more,
  });
  const driver =
    kind === "filter"
      ? rng.pick(FILTERS)
      : kind === "several"
        ? rng.pick(SEVERAL_CHILDREN)
        : kind === "format"
          ? rng.pick(OTHER_FORMATS)
          : kind === "device"
            ? rng.pick(DEVICES)
            : kind;
  const name = world.fresh(driver.startsWith("null-") ? "n" : driver === "file" ? "f" : driver === "qcow2" ? "q" : driver[0]!);
  return { name, driver, options: [...driverOptions(ctx, driver), ...commonOptions(ctx, driver === "file" || driver.startsWith("null-") ? 0.15 : 0.2)] };
}
