/**
 * The generator's data path: `io NODE "…"` statements, qemu-io commands on whatever node the graph
 * has, so that requests go through every filter, format and link the generator builds (a qcow2
 * whose file is its backing, nodes shared by two parents, read-only children, exports).
 */
import { findDriver } from "../engines/model/drivers/index.js";
import type { GenContext } from "./gen-context.js";
import type { Prng } from "./prng.js";

/** A driver whose writes the model refuses (it has no write path): a node over one is only read. */
const writesRefused = (driver: string) => findDriver(driver)?.pwritev === undefined;
/** Request lengths; most images are 1 MiB, e.raw is 64 KiB. */
const LENGTHS = [512, 4096, 65536, 131072] as const;
/** Where requests start: the first cluster, inside, the last 64 KiB of 1 MiB, the end of 1 MiB. */
const OFFSETS = [0, 4096, 65536, 524288, 983040, 1048576] as const;
const PATTERNS = ["0x00", "0x11", "0xa5", "0xff"] as const;

/** After a pattern write, how often the next statement reads it back, through the node or a parent. */
const READ_BACK = 0.4;

/**
 * An io statement on a node the graph has (the scenario then says `require io`); a pattern written
 * is sometimes read back at once, from the node or from one of its parents, so that data that takes
 * a wrong path through the layers shows.
 */
export async function ioStep(ctx: GenContext): Promise<void> {
  const { rng, world } = ctx;
  const nodes = world.referable();
  if (nodes.length === 0) return;
  // Roots weigh more: requests from the top go through every layer below.
  const roots = nodes.filter((n) => n.owned);
  const node = roots.length > 0 && rng.chance(0.6) ? rng.pick(roots) : rng.pick(nodes);
  const writable = ![node, ...world.descendants(node)].some((n) => writesRefused(n.driver));
  const cmd = ioCommand(ctx.rng, writable, node.driver);
  const out = await ctx.steer({ kind: "io", node: world.ref(node)!, command: cmd });
  if (out.kind === "dropped") return;
  ctx.require("io");
  const written = /^write -P (\S+) (\d+) (\d+)$/.exec(cmd);
  if (!written || out.kind !== "ran" || out.failed.length > 0 || !rng.chance(READ_BACK)) return;
  const readers = [node, ...world.parents(node).map((p) => p.parent)].filter((n) => world.ref(n) !== undefined);
  const reader = rng.pick(readers);
  await ctx.steer({ kind: "io", node: world.ref(reader)!, command: `read -P ${written[1]} ${written[2]} ${written[3]}` });
}

/** A qemu-io command for a node of `driver` (written to only when `writable`). */
export function ioCommand(rng: Prng, writable: boolean, driver: string): string {
  const kind = rng.weighted({
    write: writable ? 4 : 0,
    "write-zeroes": writable ? 1.5 : 0,
    "write-compressed": writable && (driver === "qcow2" || driver === "compress") ? 0.6 : 0,
    discard: writable ? 1 : 0,
    read: 3,
    "read-dump": 0.4,
    map: 1,
    alloc: 0.6,
    flush: 0.3,
  });
  const len = rng.pick(LENGTHS);
  // Now and then unaligned, so requests are padded or split; now and then past the end.
  let off: number = rng.pick(OFFSETS);
  if (rng.chance(0.08)) off += rng.int(1, 511);
  const pattern = () => rng.pick(PATTERNS);
  switch (kind) {
    case "write":
      return `write -P ${pattern()} ${off} ${len}`;
    case "write-zeroes":
      return `write -z${rng.chance(0.3) ? " -u" : ""} ${off} ${len}`;
    case "write-compressed":
      // A compressed write is one whole cluster; qcow2's default is 64 KiB.
      return `write -c -P ${pattern()} ${off - (off % 65536)} 65536`;
    case "discard":
      return `discard ${off} ${len}`;
    case "read":
      return rng.chance(0.7) ? `read -P ${pattern()} ${off} ${len}` : `read ${off} ${len}`;
    case "read-dump":
      // A whole sector: an unaligned one at 0 would reach into a vmdk's descriptor, whose CID QEMU
      // draws at random on the first write.
      return `read -v ${off - (off % 512)} 512`;
    case "map":
      return "map";
    case "alloc":
      return `alloc ${off} ${len}`;
    case "flush":
      return "flush";
  }
}
