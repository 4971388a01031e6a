/**
 * query-named-block-nodes (`bdrv_named_nodes_list` → `bdrv_block_device_info`): newest node first
 * (the list is prepended), each a BlockDeviceInfo in QAPI member order; without `flat`, the image
 * info nests the whole filter-or-COW chain as backing-image.
 */
import { childNamed, type BdsNode } from "../graph.js";
import type { LayerState } from "../layer-state.js";
import { nodeLength } from "../node-length.js";
import { fullBackingFilename } from "../open-node.js";
import { FilenameCache } from "./filename.js";
import { optBool } from "../options.js";
import { qcow2State } from "../drivers/qcow2.js";
import { ROLE_COW, ROLE_DATA, ROLE_FILTERED, ROLE_METADATA } from "../roles.js";

const STORAGE_ROLES = ROLE_DATA | ROLE_METADATA | ROLE_FILTERED;

/** `bdrv_filter_or_cow_child`: the filtered child of a filter, or the COW (backing) child. */
function filterOrCowChild(node: BdsNode): BdsNode | undefined {
  if (node.driver.isFilter) return (childNamed(node, "file") ?? childNamed(node, "image"))?.bs;
  const backing = childNamed(node, "backing");
  return backing && backing.role & ROLE_COW ? backing.bs : undefined;
}

/**
 * Per-query caches of values QEMU keeps per node (bs->filename, allocated size) and that the model
 * derives by walking down file children: without them a deep chain would cost O(depth²).
 */
class ChainCache {
  private readonly allocated = new Map<BdsNode, number | undefined>();

  private readonly names = new FilenameCache();

  filename(node: BdsNode): string {
    return this.names.filename(node);
  }

  /** `bdrv_get_allocated_file_size`; undefined for -ENOTSUP (protocols without it, e.g. blkdebug). */
  allocatedSize(node: BdsNode): number | undefined {
    return this.walk(node, this.allocated, (n) => {
      if (n.driver.name === "file") return { value: (n.state as { allocated: number }).allocated };
      if (n.driver.name === "null-co") return { value: 0 };
      if (n.driver.protocol || !childNamed(n, "file")) return { value: undefined };
      // A format node sums its storage children (`bdrv_sum_allocated_file_size`): a qcow2 with an
      // external data file counts both files. Usually `file` is the only one, and the walk goes on.
      const storage = n.driver.isFilter ? [] : n.children.filter((c) => c.name !== "file" && c.role & STORAGE_ROLES);
      if (storage.length === 0) return undefined;
      let sum: number | undefined = this.allocatedSize(childNamed(n, "file")!.bs);
      for (const c of storage) {
        const size = sum === undefined ? undefined : this.allocatedSize(c.bs);
        sum = size === undefined ? undefined : sum! + size;
      }
      return { value: sum };
    });
  }

  /** Follow `file` children until a node answers (or is cached), then cache the answer on the path. */
  private walk<T>(node: BdsNode, cache: Map<BdsNode, T>, answer: (n: BdsNode) => { value: T } | undefined): T {
    const path: BdsNode[] = [];
    let n = node;
    let value: T;
    for (;;) {
      if (cache.has(n)) {
        value = cache.get(n)!;
        break;
      }
      const a = answer(n);
      if (a) {
        value = a.value;
        cache.set(n, value);
        break;
      }
      path.push(n);
      n = childNamed(n, "file")!.bs;
    }
    for (const p of path) cache.set(p, value);
    return value;
  }
}

/**
 * The node whose `bdrv_get_info` answers for `node`: raw asks its file, filters their filtered
 * child; file and qcow2 answer themselves; others (null-co) have none.
 */
function getInfoSource(node: BdsNode): BdsNode | undefined {
  let n: BdsNode | undefined = node;
  while (n) {
    if (n.driver.name === "file" || n.driver.name === "qcow2") return n;
    if (n.driver.name !== "raw" && !n.driver.isFilter) return undefined;
    n = (childNamed(n, "file") ?? childNamed(n, "image"))?.bs;
  }
  return undefined;
}

/** ImageInfo in QAPI member order. */
function imageInfo(node: BdsNode, cache: ChainCache): Record<string, unknown> {
  const info: Record<string, unknown> = { filename: cache.filename(node), format: node.driver.name };
  const infoFrom = getInfoSource(node);
  if (infoFrom) info["dirty-flag"] = false;
  const allocated = cache.allocatedSize(node);
  if (allocated !== undefined) info["actual-size"] = allocated;
  info["virtual-size"] = nodeLength(node);
  if (infoFrom?.driver.name === "qcow2") info["cluster-size"] = qcow2State(infoFrom).header.clusterSize;
  if (node.driver.name === "qcow2") {
    const h = qcow2State(node).header;
    if (h.backingFile !== "") {
      info["backing-filename"] = h.backingFile;
      info["full-backing-filename"] = fullBackingFilename(node, h.backingFile);
      if (h.backingFormat !== "") info["backing-filename-format"] = h.backingFormat;
    }
    const data: Record<string, unknown> = {
      compat: h.version >= 3 ? "1.1" : "0.10",
      "compression-type": "zlib",
      "lazy-refcounts": false,
      "refcount-bits": h.refcountBits,
    };
    // The header's name, even when the data-file child was given explicitly.
    if (h.dataFile !== "") data["data-file"] = h.dataFile;
    if (h.externalDataFile) data["data-file-raw"] = false;
    data["corrupt"] = false;
    data["extended-l2"] = false;
    info["format-specific"] = { type: "qcow2", data };
  }
  return info;
}

/** BlockDeviceInfo of one node. */
function blockDeviceInfo(node: BdsNode, flat: boolean, cache: ChainCache): Record<string, unknown> {
  const image = imageInfo(node, cache);
  let depth = 0;
  if (!flat) {
    let cur = image;
    let below = filterOrCowChild(node);
    while (below) {
      depth++;
      const next = imageInfo(below, cache);
      cur["backing-image"] = next;
      cur = next;
      below = filterOrCowChild(below);
    }
  }
  const info: Record<string, unknown> = {
    file: cache.filename(node),
    "node-name": node.name,
    ro: node.readOnly,
    drv: node.driver.name,
  };
  // The backing node's filename, not the header's name (they differ once backing was replaced).
  const backing = childNamed(node, "backing");
  if (backing) info["backing_file"] = cache.filename(backing.bs);
  Object.assign(info, {
    backing_file_depth: depth,
    encrypted: false,
    detect_zeroes: typeof node.options["detect-zeroes"] === "string" ? node.options["detect-zeroes"] : "off",
    bps: 0,
    bps_rd: 0,
    bps_wr: 0,
    iops: 0,
    iops_rd: 0,
    iops_wr: 0,
    image,
    cache: {
      writeback: true,
      direct: optBool(node.options["cache.direct"]),
      "no-flush": optBool(node.options["cache.no-flush"]),
    },
    write_threshold: 0,
  });
  return info;
}

export function namedBlockNodes(state: LayerState, flat: boolean): unknown[] {
  const cache = new ChainCache();
  const out: unknown[] = [];
  for (const node of state.nodes.values()) out.push(blockDeviceInfo(node, flat, cache));
  return out.reverse();
}
