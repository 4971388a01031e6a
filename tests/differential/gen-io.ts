/**
 * qemu-io commands for the generator, run through HMP `qemu-io NODE "CMD"` on any node of the live
 * graph: writes (pattern, zeroes with and without unmap, compressed, asynchronous), reads that check
 * a pattern or dump the bytes, discards, flushes, allocation queries, the node's length and info,
 * truncation — plus a steady share of mistakes (unknown commands, bad numbers and patterns, missing
 * arguments, unknown nodes). Together with the generator's reopens, backing changes and exports they
 * make the data path meet every graph the generator builds.
 *
 * Offsets stay mostly inside the generated images (1 MiB), on 512-byte, 4 KiB or cluster (64 KiB)
 * boundaries, with some unaligned requests (read-modify-write under blkdebug's `align`) and some past
 * the end. Few patterns are used, so reads find what earlier writes left about as often as not.
 */
import { LUKS_IMAGE } from "./gen-luks.js";
import { VDI_IMAGES } from "./gen-vdi.js";
import { VHDX_IMAGES } from "./gen-vhdx.js";
import { VMDK_IMAGES } from "./gen-vmdk.js";
import { VPC_IMAGES } from "./gen-vpc.js";
import { nodeRef } from "./gen-add.js";
import type { GenState, LiveView } from "./gen-state.js";
import type { Prng } from "../../src/fuzz/prng.js";
import { io, type IoStep } from "./steps.js";

const MIB = 1 << 20;
const PATTERNS = [0x00, 0x5a, 0xa5, 0x11];

function pattern(rng: Prng): string {
  return `0x${rng.pick(PATTERNS).toString(16)}`;
}

/** An offset and a length: aligned and in range mostly, sometimes unaligned or past the end. */
function range(rng: Prng, unit = rng.pick([512, 4096, 65536])): [number, number] {
  const r = rng.next();
  if (r < 0.8) {
    const len = unit * rng.int(1, 3);
    return [unit * rng.int(0, MIB / unit - 1), len];
  }
  if (r < 0.93) return [rng.int(0, MIB - 1), rng.int(1, 9000)];
  return [MIB + unit * rng.int(-1, 2), unit * rng.int(1, 2)];
}

/**
 * One cluster exactly: QEMU compresses the clusters of one request in worker threads and allocates
 * each as its compression finishes, so a compressed write of several clusters lays them out in an
 * order that differs from run to run. Compressed writes (`-c`, or any write through a compress
 * filter) therefore stay within one cluster, where the layout is QEMU's own, deterministic one.
 */
function oneCluster(rng: Prng): [number, number] {
  return [65536 * rng.int(0, MIB / 65536 - 1), 65536];
}

/** One qemu-io command line; `compressing`: writes on this node may be compressed. */
function command(rng: Prng, compressing: boolean): string {
  const writeRange = () => (compressing ? oneCluster(rng) : range(rng));
  const kind = rng.weighted({
    write: 6,
    writeZeroes: 2,
    writeCompressed: 1,
    aioWrite: 0.7,
    read: 5,
    readDump: 1,
    discard: 1.5,
    flush: 0.5,
    aioFlush: 0.3,
    alloc: 1,
    map: 1,
    length: 0.5,
    info: 0.4,
    truncate: 0.3,
    mistake: 0.8,
  });
  switch (kind) {
    case "write": {
      const [off, len] = writeRange();
      return `write${rng.chance(0.2) ? " -q" : ""} -P ${pattern(rng)} ${off} ${len}`;
    }
    case "writeZeroes": {
      const [off, len] = range(rng);
      return `write -z${rng.chance(0.5) ? " -u" : ""} ${off} ${len}`;
    }
    case "writeCompressed": {
      const [off, len] = oneCluster(rng);
      return `write -c -P ${pattern(rng)} ${off} ${len}`;
    }
    case "aioWrite": {
      const [off, len] = writeRange();
      return `aio_write -P ${pattern(rng)} ${off} ${len}`;
    }
    case "read": {
      const [off, len] = range(rng);
      return rng.chance(0.8) ? `read -P ${pattern(rng)} ${off} ${len}` : `read ${off} ${len}`;
    }
    case "readDump":
      // A hex dump of a few bytes: the data itself, not only whether it matched.
      return `read -v ${rng.pick([0, 512, 4096, 65536 - 16, MIB - 32])} ${rng.pick([16, 48])}`;
    case "discard": {
      const [off, len] = range(rng);
      return `discard ${off} ${len}`;
    }
    case "flush":
      return "flush";
    case "aioFlush":
      return "aio_flush";
    case "alloc": {
      const [off, len] = range(rng);
      return `alloc ${off} ${len}`;
    }
    case "map":
      return "map";
    case "length":
      return "length";
    case "info":
      return "info";
    case "truncate":
      return `truncate ${rng.pick([MIB, MIB + 65536, 2 * MIB, 65536])}`;
    case "mistake":
      return rng.pick(["frobnicate 0 512", "write -P 0x5a 0 12q", "read -P 300 0 512", "write 0", "discard -x 0 512", "read -P 0x5a -1 512", "alloc 0 0x"]);
  }
}

/**
 * Drivers whose I/O the model's data path does not follow (it refuses with a typed error rather
 * than answer), or where QEMU ends (blkverify exits when its children differ, as they do here, and
 * aborts on a zero write): requests are kept away from nodes above them.
 */
const UNMODELLED_IO = new Set(["blkverify", "mirror_top", "commit_top", "vmdk", "luks"]);

/** Whether a request on `name` could reach a node whose driver is in `drivers`. */
function reaches(view: LiveView, name: string, drivers: ReadonlySet<string>, seen = new Set<string>()): boolean {
  if (seen.has(name)) return false;
  seen.add(name);
  if (drivers.has(view.nodes.find((n) => n.name === name)?.drv ?? "")) return true;
  return view.graph.childEdges(name).some((e) => {
    const child = view.graph.node(e.child)?.name;
    return child !== undefined && reaches(view, child, drivers, seen);
  });
}

const COMPRESS = new Set(["compress"]);
const QCOW2 = new Set(["qcow2"]);
const COPY_ON_READ = new Set(["copy-on-read"]);
const NULL_CO = new Set(["null-co", "null-aio"]);

/**
 * Whether a request on `name` could reach a node of `upper` whose `edge` child leads to one of
 * `lower`. Two such shapes make QEMU's answer depend on more than the model follows:
 * - qcow2 over a compress filter: its metadata is written compressed, and whether a second write to
 *   one cluster fails depends on when QEMU writes back its metadata caches;
 * - copy-on-read over null-co, or a qcow2 whose backing reaches null-co: QEMU copies up (and
 *   returns), or copies on write, an uninitialised bounce buffer.
 */
function reachesAbove(view: LiveView, name: string, upper: ReadonlySet<string>, edge: string, lower: ReadonlySet<string>, seen = new Set<string>()): boolean {
  if (seen.has(name)) return false;
  seen.add(name);
  const here = upper.has(view.nodes.find((n) => n.name === name)?.drv ?? "");
  return view.graph.childEdges(name).some((e) => {
    const child = view.graph.node(e.child)?.name;
    if (child === undefined) return false;
    return (here && e.name === edge && reaches(view, child, lower)) || reachesAbove(view, child, upper, edge, lower, seen);
  });
}

/**
 * Raw nodes that show a window of their file (`offset`, `size`): a qcow2 image over one may find its
 * metadata outside the window, and QEMU then marks the image corrupt and ejects its node (the
 * model does not model qcow2's corruption checks).
 */
function windowedRaws(view: LiveView, state?: GenState): Set<string> {
  const out = new Set<string>();
  for (const n of view.nodes) {
    const opts = state?.options.get(n.name);
    if (n.drv === "raw" && opts && ("offset" in opts || "size" in opts)) out.add(n.name);
  }
  return out;
}

/** Whether a request on `name` could reach a qcow2 node whose file leads to one of `raws`. */
function reachesQcow2Over(view: LiveView, name: string, raws: ReadonlySet<string>, seen = new Set<string>()): boolean {
  if (raws.size === 0 || seen.has(name)) return false;
  seen.add(name);
  const qcow2 = view.nodes.find((n) => n.name === name)?.drv === "qcow2";
  return view.graph.childEdges(name).some((e) => {
    const child = view.graph.node(e.child)?.name;
    if (child === undefined) return false;
    return (qcow2 && e.name === "file" && reachesName(view, child, raws)) || reachesQcow2Over(view, child, raws, seen);
  });
}

/** Whether `name` or a node below it is one of `names`. */
export function reachesName(view: LiveView, name: string, names: ReadonlySet<string>, seen = new Set<string>()): boolean {
  if (seen.has(name)) return false;
  seen.add(name);
  if (names.has(name)) return true;
  return view.graph.childEdges(name).some((e) => {
    const child = view.graph.node(e.child)?.name;
    return child !== undefined && reachesName(view, child, names, seen);
  });
}

/**
 * Quorums with a null-co child below them: each child reads into a bounce buffer of its own, which
 * null-co leaves uninitialised, and QEMU votes on whatever those held (the model refuses).
 */
function quorumsOverNull(view: LiveView): Set<string> {
  return new Set(view.nodes.filter((n) => n.drv === "quorum" && reaches(view, n.name, NULL_CO)).map((n) => n.name));
}

/**
 * Nodes on the LUKS image file: its key material is random in qemu-img's file and the model's own
 * in the model's, so what a read of it shows (`read -v`, a pattern check's first mismatch) differs.
 */
function luksFileNodes(view: LiveView): Set<string> {
  return new Set(view.nodes.filter((n) => n.drv === "file" && n.file.endsWith(`/${LUKS_IMAGE}`)).map((n) => n.name));
}

/**
 * Nodes that show the bytes of a vdi, vpc, vhdx or vmdk image file as they are: a file node on one,
 * or a raw node right over such a file node. qemu-img draws UUIDs, timestamps and CIDs into those
 * headers, and the model writes its own, so a dump of them (`read -v`) differs.
 */
export function randomHeaderFileNodes(view: LiveView): Set<string> {
  const images = [...VDI_IMAGES, ...VPC_IMAGES, ...VHDX_IMAGES, ...VMDK_IMAGES];
  const files = new Set(view.nodes.filter((n) => n.drv === "file" && images.some((img) => n.file.endsWith(`/${img}`))).map((n) => n.name));
  for (const n of view.nodes) {
    if (n.drv !== "raw") continue;
    const below = view.graph.childEdges(n.name).map((e) => view.graph.node(e.child)?.name);
    if (below.some((c) => c !== undefined && files.has(c))) files.add(n.name);
  }
  return files;
}

/** A qemu-io step on some node (now and then one that does not exist). */
export function ioStep(rng: Prng, view: LiveView, state?: GenState): IoStep {
  const raws = windowedRaws(view, state);
  const nullQuorums = quorumsOverNull(view);
  const luksFiles = luksFileNodes(view);
  const randomHeaders = randomHeaderFileNodes(view);
  const names = view.graph
    .referableNames()
    .filter((n) => !reaches(view, n, UNMODELLED_IO) && !reachesAbove(view, n, QCOW2, "file", COMPRESS) && !reachesAbove(view, n, COPY_ON_READ, "file", NULL_CO) && !reachesAbove(view, n, QCOW2, "backing", NULL_CO) && !reachesQcow2Over(view, n, raws) && !reachesName(view, n, nullQuorums) && !reachesName(view, n, luksFiles) && !randomHeaders.has(n));
  if (names.length === 0 || rng.chance(0.02)) return io("nosuch", command(rng, false));
  const name = rng.pick(names);
  return io(nodeRef(view, name), command(rng, reaches(view, name, COMPRESS)));
}
