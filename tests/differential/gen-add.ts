/**
 * blockdev-add commands for the generator: every driver, children given inline or by reference
 * (named nodes by name, auto-named ones by path), and the usual mistakes (bad references, duplicate
 * and invalid names, missing files, read-only conflicts).
 */
import { isAutoName } from "../../src/graph-view/auto-name.js";
import type { GenState, LiveView } from "./gen-state.js";
import { QCOW2_IMAGES, RAW_IMAGES } from "./gen-images.js";
import type { Prng } from "../../src/fuzz/prng.js";
import { node, qmp, type Json, type QmpStep } from "./steps.js";
import { vdiNode } from "./gen-vdi.js";
import { luksNode } from "./gen-luks.js";
import { vpcNode } from "./gen-vpc.js";
import { vhdxNode } from "./gen-vhdx.js";
import { qedNode } from "./gen-qed.js";
import { qcowNode } from "./gen-qcow.js";
import { parallelsNode } from "./gen-parallels.js";
import { vmdkNode } from "./gen-vmdk.js";

type Dict = { [key: string]: Json };

const PERMS = ["consistent-read", "write", "write-unchanged", "resize"] as const;
const FILTERS = ["copy-on-read", "throttle", "blkdebug", "preallocate", "compress"] as const;

/** A reference to an existing node: its name, or its path when it is auto-named. */
export function nodeRef(view: LiveView, name: string): Json {
  return isAutoName(name) ? node(view.graph.pathOf(name)) : name;
}

/** A random existing node, as a reference. */
export function anyNodeRef(rng: Prng, view: LiveView): Json | undefined {
  const names = view.graph.referableNames();
  return names.length === 0 ? undefined : nodeRef(view, rng.pick(names));
}

/** A node name for a new node: usually fresh, sometimes taken or invalid. */
export function newName(rng: Prng, state: GenState, view: LiveView, prefix: string): string {
  const r = rng.next();
  const taken = view.graph.referableNames().filter((n) => !isAutoName(n));
  if (r < 0.06 && taken.length > 0) return rng.pick(taken);
  if (r < 0.08) return rng.pick(["1bad", "", "x".repeat(32), "#block1"]);
  return state.freshName(prefix);
}

export function maybeReadOnly(rng: Prng, d: Dict, p = 0.3): Dict {
  if (rng.chance(p)) d["read-only"] = true;
  maybeZeroes(rng, d);
  return d;
}

/** detect-zeroes=unmap is only allowed with BDRV_O_UNMAP, which roots get from discard=unmap alone. */
export function maybeZeroes(rng: Prng, d: Dict, p = 0.06): void {
  if (rng.chance(p)) d["detect-zeroes"] = rng.pick(["unmap", "unmap", "on", "off"]);
  if (rng.chance(p)) d.discard = rng.pick(["unmap", "ignore"]);
}

/** An inline protocol node on an image (or a missing file, rarely). */
export function inlineFile(rng: Prng, state: GenState, images: readonly string[]): Dict {
  const img = rng.chance(0.03) ? "does-not-exist.img" : rng.pick(images);
  const d: Dict = { driver: "file", filename: `$TEST_DIR/${img}` };
  if (rng.chance(0.3)) d["node-name"] = state.freshName("if");
  if (rng.chance(0.08)) d.locking = "off";
  return maybeReadOnly(rng, d, 0.15);
}

/** A child for `file`/`image`: an inline dict or an existing node (or a name that does not exist). */
export function childRef(rng: Prng, state: GenState, view: LiveView, images: readonly string[]): Json {
  const r = rng.next();
  if (r < 0.04) return "nosuch";
  const existing = anyNodeRef(rng, view);
  if (r < 0.5 && existing !== undefined) return existing;
  if (r < 0.58) return maybeReadOnly(rng, { driver: "null-co" }, 0.2);
  return inlineFile(rng, state, images);
}

function protocolNode(rng: Prng, state: GenState, view: LiveView): QmpStep {
  const name = newName(rng, state, view, "f");
  if (rng.chance(0.3)) return qmp("blockdev-add", maybeReadOnly(rng, { driver: rng.chance(0.3) ? "null-aio" : "null-co", "node-name": name }));
  const d = inlineFile(rng, state, [...RAW_IMAGES, ...QCOW2_IMAGES]);
  d["node-name"] = name;
  if (rng.chance(0.05)) d["force-share"] = true;
  return qmp("blockdev-add", d);
}

function rawNode(rng: Prng, state: GenState, view: LiveView): QmpStep {
  const d: Dict = { driver: "raw", "node-name": newName(rng, state, view, "r"), file: childRef(rng, state, view, [...RAW_IMAGES, ...QCOW2_IMAGES]) };
  if (rng.chance(0.2)) d.offset = rng.pick([0, 512, 4096]);
  if (rng.chance(0.15)) d.size = rng.pick([4096, 65536]);
  return qmp("blockdev-add", maybeReadOnly(rng, d, 0.25));
}

/**
 * Drivers a header read does not pass through as the model follows it: copy-on-read; quorum, whose
 * vote the model follows for a header only when its children hold the same file bytes (rarely so
 * here); the graph-only drivers but blklogwrites, which reads its file as it is (see
 * GRAPH_ONLY_DRIVERS); and null-co and null-aio, which leave a driver's header buffer as it was:
 * uninitialised memory in QEMU (a header check that prints what it read, such as vdi's "bad
 * signature", prints garbage).
 */
const HEADER_READ_UNFOLLOWED = ["copy-on-read", "quorum", "blkverify", "vmdk", "luks", "null-co", "null-aio"];

/**
 * Whether opening a qcow2 over `ref` reads its header through copy-on-read (QEMU then writes what it
 * read into the image below, which the model does not follow here) or through a driver whose data
 * path the model does not follow for a header (a quorum's vote over children that differ; blkverify,
 * whose children differ in these sequences, makes QEMU 7.2 exit with "blkverify: read … contents
 * mismatch", status 1).
 */
export function headerReadIsUnfollowed(view: LiveView, ref: Json): boolean {
  // An inline child is made by the same blockdev-add: its driver is in the dict.
  if (ref !== null && typeof ref === "object" && !Array.isArray(ref) && typeof ref.driver === "string") return HEADER_READ_UNFOLLOWED.includes(ref.driver);
  const name = typeof ref === "string" ? ref : isNodeRef(ref) ? view.graph.resolve(ref.$node) : undefined;
  if (name === undefined || !view.graph.driverNode(name)) return false;
  const below = [name, ...view.graph.descendants(name)];
  return below.some((n) => HEADER_READ_UNFOLLOWED.includes(view.nodes.find((info) => info.name === n)?.drv ?? ""));
}

/**
 * The start of a blockdev-add of an image format driver: its file child, over one of `own` (its own
 * images) nine times in ten, else over a raw or qcow2 image; never read through a node whose data
 * path the model does not follow for a header (the open reads its header through the file child).
 */
export function formatNodeStart(rng: Prng, state: GenState, view: LiveView, driver: string, own: readonly string[], namePrefix: string, pOwn = 0.9): Dict {
  const images = rng.chance(pOwn) ? [...own] : [...RAW_IMAGES, ...QCOW2_IMAGES];
  let file: Json = childRef(rng, state, view, images);
  if (headerReadIsUnfollowed(view, file)) file = inlineFile(rng, state, images);
  return { driver, "node-name": newName(rng, state, view, namePrefix), file };
}

function isNodeRef(v: Json): v is { $node: string } {
  return v !== null && typeof v === "object" && !Array.isArray(v) && typeof v.$node === "string";
}

function qcow2Node(rng: Prng, state: GenState, view: LiveView): QmpStep {
  let file = childRef(rng, state, view, QCOW2_IMAGES);
  if (headerReadIsUnfollowed(view, file)) file = inlineFile(rng, state, QCOW2_IMAGES);
  const d: Dict = { driver: "qcow2", "node-name": newName(rng, state, view, "q"), file };
  const r = rng.next();
  if (r < 0.15) d.backing = null;
  else if (r < 0.35) {
    // Never the file child again: one node as both file and backing of a qcow2 leads to a QEMU 7.2 abort.
    const other = anyNodeRef(rng, view);
    if (other !== undefined && JSON.stringify(other) !== JSON.stringify(file)) d.backing = other;
  }
  // data.qcow2 names its data file in the header; giving one replaces it (or fails on other images).
  const onDataImage = typeof file === "object" && file !== null && !Array.isArray(file) && file.filename === "$TEST_DIR/data.qcow2";
  if (rng.chance(onDataImage ? 0.4 : 0.03)) {
    const ref = anyNodeRef(rng, view);
    d["data-file"] = rng.chance(0.3) && ref !== undefined ? ref : inlineFile(rng, state, RAW_IMAGES);
  }
  return qmp("blockdev-add", maybeReadOnly(rng, d, 0.3));
}

function permSubset(rng: Prng): Json[] {
  return rng.subset(PERMS, 0.35);
}

function filterNode(rng: Prng, state: GenState, view: LiveView): QmpStep {
  const driver = rng.pick(FILTERS);
  const d: Dict = { driver, "node-name": newName(rng, state, view, driver[0]!) };
  const child = childRef(rng, state, view, [...RAW_IMAGES, ...QCOW2_IMAGES]);
  if (driver === "blkdebug") {
    d.image = child;
    if (rng.chance(0.5)) d["take-child-perms"] = permSubset(rng);
    if (rng.chance(0.5)) d["unshare-child-perms"] = permSubset(rng);
    if (rng.chance(0.2)) d.align = 4096;
  } else {
    d.file = child;
  }
  if (driver === "throttle") {
    const groups = [...state.throttleGroups];
    d["throttle-group"] = groups.length > 0 && rng.chance(0.85) ? rng.pick(groups) : "nosuch";
  }
  return qmp("blockdev-add", maybeReadOnly(rng, d, 0.2));
}

/** quorum over two or three children (sometimes of different lengths), with its option mistakes. */
function quorumNode(rng: Prng, state: GenState, view: LiveView): QmpStep {
  const count = rng.pick([1, 2, 2, 3]);
  // QEMU wants every child the same length; children drawn from any node rarely are, so half the
  // quorums get null-co children (all 1 GiB) and go on to be reopened, changed and deleted.
  const sameLength = rng.chance(0.5);
  const children = Array.from({ length: count }, () => (sameLength ? { driver: "null-co" } : childRef(rng, state, view, [...RAW_IMAGES, ...QCOW2_IMAGES])));
  const d: Dict = { driver: "quorum", "node-name": newName(rng, state, view, "qu"), children, "vote-threshold": rng.pick([0, 1, 2, 2, 3]) };
  if (rng.chance(0.2)) d.blkverify = true;
  if (rng.chance(0.2)) d["rewrite-corrupted"] = true;
  if (rng.chance(0.2)) d["read-pattern"] = rng.pick(["quorum", "fifo"]);
  return qmp("blockdev-add", maybeReadOnly(rng, d, 0.3));
}

/** blkverify over a raw copy and a test node. */
function blkverifyNode(rng: Prng, state: GenState, view: LiveView): QmpStep {
  const d: Dict = { driver: "blkverify", "node-name": newName(rng, state, view, "bv") };
  d.raw = childRef(rng, state, view, RAW_IMAGES);
  if (rng.chance(0.95)) d.test = childRef(rng, state, view, [...RAW_IMAGES, ...QCOW2_IMAGES]);
  return qmp("blockdev-add", maybeReadOnly(rng, d, 0.3));
}

/** copy-before-write over a source with a target (as backup inserts it), rarely with a bitmap. */
function copyBeforeWriteNode(rng: Prng, state: GenState, view: LiveView): QmpStep {
  const d: Dict = { driver: "copy-before-write", "node-name": newName(rng, state, view, "cbw") };
  d.file = childRef(rng, state, view, [...RAW_IMAGES, ...QCOW2_IMAGES]);
  if (rng.chance(0.95)) d.target = childRef(rng, state, view, [...RAW_IMAGES, ...QCOW2_IMAGES]);
  if (rng.chance(0.05)) d.bitmap = { node: rng.pick(["nosuch", ...view.graph.referableNames().filter((n) => !isAutoName(n))]), name: "b0" };
  if (rng.chance(0.2)) d["on-cbw-error"] = rng.pick(["break-guest-write", "break-snapshot"]);
  return qmp("blockdev-add", maybeReadOnly(rng, d, 0.2));
}

/** blklogwrites over a file with a log, with its option mistakes. */
function blklogwritesNode(rng: Prng, state: GenState, view: LiveView): QmpStep {
  const d: Dict = { driver: "blklogwrites", "node-name": newName(rng, state, view, "lw") };
  d.file = childRef(rng, state, view, [...RAW_IMAGES, ...QCOW2_IMAGES]);
  d.log = childRef(rng, state, view, RAW_IMAGES);
  if (rng.chance(0.3)) d["log-sector-size"] = rng.pick([512, 1000, 4096, 16]);
  if (rng.chance(0.2)) d["log-append"] = true;
  if (rng.chance(0.1)) d["log-super-update-interval"] = rng.pick([0, 1, 4096]);
  return qmp("blockdev-add", maybeReadOnly(rng, d, 0.2));
}

/** Drivers whose graph the model follows but not their data path (reads and writes through them; vhdx: writes). */
const GRAPH_ONLY_DRIVERS = ["blkverify", "blklogwrites", "vmdk", "luks", "vhdx"];

/** Whether the graph has a node the model cannot do I/O through: a block job there would need it. */
export function hasGraphOnlyNode(view: LiveView): boolean {
  return view.nodes.some((n) => GRAPH_ONLY_DRIVERS.includes(n.drv));
}

/** x-blockdev-change: a quorum's children come and go (and other nodes refuse). */
function changeChildren(rng: Prng, view: LiveView): QmpStep | undefined {
  const parents = view.graph.referableNames().filter((n) => !isAutoName(n));
  if (parents.length === 0) return undefined;
  const parent = rng.pick(parents);
  const quorums = parents.filter((n) => view.nodes.find((info) => info.name === n)?.drv === "quorum");
  const target = quorums.length > 0 && rng.chance(0.8) ? rng.pick(quorums) : parent;
  const args: Dict = { parent: target };
  if (rng.chance(0.5)) args.child = `children.${rng.pick([0, 1, 2, 3])}`;
  else args.node = rng.chance(0.9) ? rng.pick(parents) : "nosuch";
  if (rng.chance(0.03)) args.child = "file";
  return qmp("x-blockdev-change", args);
}

/**
 * A blockdev-add of some driver (or, rarely, x-blockdev-change adding or removing a child). With
 * `guestIo` (a sequence with qemu-io commands) none of quorum, blkverify, copy-before-write or
 * blklogwrites: the model does not follow their data paths, and a blkverify read that finds its
 * children differ ends QEMU.
 */
export function addStep(rng: Prng, state: GenState, view: LiveView, guestIo = false): QmpStep {
  const multi = guestIo ? 0 : 1;
  const kind = rng.weighted({ protocol: 4, raw: 3, qcow2: 4, filter: 5, quorum: 0.8 * multi, blkverify: 0.5 * multi, change: 0.5 * multi, cbw: 0.5 * multi, logwrites: 0.5 * multi, broken: 0.4, vdi: 1, vpc: 1, vhdx: multi, qed: 1, vmdk: 1, qcow: 1, luks: 1.5, parallels: 1 });
  switch (kind) {
    case "protocol":
      return protocolNode(rng, state, view);
    case "raw":
      return rawNode(rng, state, view);
    case "qcow2":
      return qcow2Node(rng, state, view);
    case "filter":
      return filterNode(rng, state, view);
    case "quorum":
      return quorumNode(rng, state, view);
    case "blkverify":
      return blkverifyNode(rng, state, view);
    case "cbw":
      return copyBeforeWriteNode(rng, state, view);
    case "logwrites":
      return blklogwritesNode(rng, state, view);
    case "change":
      return changeChildren(rng, view) ?? protocolNode(rng, state, view);
    case "vdi":
      return vdiNode(rng, state, view);
    case "vpc":
      return vpcNode(rng, state, view);
    case "vhdx":
      return vhdxNode(rng, state, view);
    case "qed":
      return qedNode(rng, state, view);
    case "qcow":
      return qcowNode(rng, state, view);
    case "parallels":
      return parallelsNode(rng, state, view);
    case "vmdk":
      return vmdkNode(rng, state, view);
    case "luks":
      return luksNode(rng, state, view);
    case "broken": {
      // Adds that always fail: no file, an unknown driver, no node name; host devices on a scratch
      // directory's files; an nbd client with no server to talk to (one of its own export hangs QEMU 7.2).
      const which = rng.pick(["raw", "nosuchdrv", "null-co", "host_device", "host_cdrom", "nbd"] as const);
      const d: Dict =
        which === "raw"
          ? { driver: "raw", "node-name": state.freshName("x") }
          : which === "nosuchdrv"
            ? { driver: "nosuchdrv", "node-name": "x" }
            : which === "null-co"
              ? { driver: "null-co" }
              : which === "host_device"
                ? { driver: "host_device", "node-name": state.freshName("hd"), filename: `$TEST_DIR/${rng.pick(RAW_IMAGES)}` }
                : which === "host_cdrom"
                  ? { driver: "host_cdrom", "node-name": state.freshName("cd"), filename: "$TEST_DIR/missing.img", "read-only": true }
                  : { driver: "nbd", "node-name": state.freshName("nbd"), server: { type: "unix", path: "$TEST_DIR/nosuch.sock" }, export: "x" };
      return qmp("blockdev-add", d);
    }
  }
}
