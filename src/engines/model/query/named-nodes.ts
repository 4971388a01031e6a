/**
 * query-named-block-nodes (`bdrv_named_nodes_list` → `bdrv_block_device_info`): newest node first
 * (the list is prepended), each a BlockDeviceInfo in QAPI member order; without `flat`, the image
 * info nests the whole filter-or-COW chain as backing-image.
 */
import { acquireNodeContext } from "../aio-context/iothread-objects.js";
import { fullBackingFilename } from "../backing-filename.js";
import type { BlockDriverInfo } from "../drivers/driver.js";
import { childNamed, filteredChild, type BdsNode, type Child } from "../graph.js";
import type { LayerState } from "../layer-state.js";
import { nodeLength } from "../node-length.js";
import { optBool } from "../options.js";
import { QmpFailure } from "../qmp-failure.js";
import { BDRV_CHILD_COW, BDRV_CHILD_DATA, BDRV_CHILD_FILTERED, BDRV_CHILD_METADATA } from "../roles.js";
import { FilenameCache } from "./filename.js";

const STORAGE_ROLES = BDRV_CHILD_DATA | BDRV_CHILD_METADATA | BDRV_CHILD_FILTERED;

/** `bdrv_filter_or_cow_child`: the filtered child of a filter, or the COW (backing) child. */
function filterOrCowChild(node: BdsNode): BdsNode | undefined {
  if (node.driver.isFilter) return filteredChild(node)?.bs;
  const backing = childNamed(node, "backing");
  return backing && backing.role & BDRV_CHILD_COW ? backing.bs : undefined;
}

/** A node's answer, or the node whose answer it is. */
type Step<T> = { value: T } | { next: BdsNode };

/**
 * Per-query caches of values QEMU keeps per node (bs->filename, allocated size) and that the model
 * derives by walking down file children: without them a deep chain would cost O(depth²).
 */
class ChainCache {
  private readonly allocated = new Map<BdsNode, number | undefined>();

  readonly names = new FilenameCache();

  filename(node: BdsNode): string {
    return this.names.filename(node);
  }

  /** `bdrv_get_allocated_file_size`; undefined for -ENOTSUP (protocols without it, e.g. blkdebug). */
  allocatedSize(node: BdsNode): number | undefined {
    return this.walk(node, this.allocated, (n) => {
      if (n.driver.getAllocatedFileSize) return { value: n.driver.getAllocatedFileSize(n) };
      if (n.driver.protocol) return { value: undefined };
      // A filter counts its filtered child.
      const filtered = filteredChild(n);
      if (filtered) return { next: filtered.bs };
      // A format node sums its storage children (`bdrv_sum_allocated_file_size`): a qcow2 with an
      // external data file counts both files. Usually `file` is the only one, and the walk goes on.
      const file = childNamed(n, "file");
      if (!file) return { value: this.sumAllocated(n.children.filter((c) => c.role & STORAGE_ROLES)) };
      const others = n.children.filter((c) => c !== file && c.role & STORAGE_ROLES);
      if (others.length === 0) return { next: file.bs };
      let sum: number | undefined = this.allocatedSize(file.bs);
      for (const c of others) {
        const size = sum === undefined ? undefined : this.allocatedSize(c.bs);
        sum = size === undefined ? undefined : sum! + size;
      }
      return { value: sum };
    });
  }

  /** `bdrv_sum_allocated_file_size` over these children: 0 for none, -ENOTSUP (undefined) if any has none. */
  private sumAllocated(children: readonly Child[]): number | undefined {
    let sum = 0;
    for (const c of children) {
      const size = this.allocatedSize(c.bs);
      if (size === undefined) return undefined;
      sum += size;
    }
    return sum;
  }

  /** Follow the steps until a node answers (or is cached), then cache the answer on the path. */
  private walk<T>(node: BdsNode, cache: Map<BdsNode, T>, step: (n: BdsNode) => Step<T>): T {
    const path: BdsNode[] = [];
    let n = node;
    let value: T;
    for (;;) {
      if (cache.has(n)) {
        value = cache.get(n)!;
        break;
      }
      const s = step(n);
      if ("value" in s) {
        value = s.value;
        cache.set(n, value);
        break;
      }
      path.push(n);
      n = s.next;
    }
    for (const p of path) cache.set(p, value);
    return value;
  }
}

/** `bdrv_get_allocated_file_size` of one node, outside a query; undefined for -ENOTSUP. */
export function allocatedFileSize(node: BdsNode): number | undefined {
  return new ChainCache().allocatedSize(node);
}

/**
 * `bdrv_get_info`: the driver's answer (raw-format asks its file), a filter's filtered child's, or
 * none (-ENOTSUP, e.g. null-co). A loop: chains are deep.
 */
export function bdrvGetInfo(node: BdsNode): BlockDriverInfo | undefined {
  let n: BdsNode | undefined = node;
  while (n) {
    if (n.driver.getInfo) {
      const answer = n.driver.getInfo(n);
      if ("info" in answer) return answer.info;
      if ("notSupported" in answer) return undefined;
      n = answer.askNode;
    } else {
      n = filteredChild(n)?.bs;
    }
  }
  return undefined;
}

/** `bdrv_get_full_backing_filename(bs, NULL)`: left out when it cannot be made. */
function tryFullBackingFilename(node: BdsNode, cache: ChainCache): string | undefined {
  try {
    return fullBackingFilename(node, node.backingFile, cache.names);
  } catch (e) {
    if (e instanceof QmpFailure) return undefined;
    throw e;
  }
}

/** ImageInfo in QAPI member order. */
function imageInfo(node: BdsNode, cache: ChainCache): Record<string, unknown> {
  const info: Record<string, unknown> = { filename: cache.filename(node), format: node.driver.name };
  const bdi = bdrvGetInfo(node);
  if (bdi) info["dirty-flag"] = bdi.isDirty;
  const allocated = cache.allocatedSize(node);
  if (allocated !== undefined) info["actual-size"] = allocated;
  info["virtual-size"] = nodeLength(node);
  if (bdi && bdi.clusterSize !== 0) info["cluster-size"] = bdi.clusterSize;
  if (node.encrypted) info["encrypted"] = true;
  if (node.backingFile !== "") {
    info["backing-filename"] = node.backingFile;
    const full = tryFullBackingFilename(node, cache);
    if (full !== undefined) info["full-backing-filename"] = full;
    if (node.backingFormat !== "") info["backing-filename-format"] = node.backingFormat;
  }
  const specific = node.driver.getSpecificInfo?.(node);
  if (specific) info["format-specific"] = specific;
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
  // The backing (COW) node's filename, not the header's name (they differ once backing was
  // replaced); a job filter's "backing" child is its filtered child, not a backing file.
  const backing = childNamed(node, "backing");
  if (backing && backing.role & BDRV_CHILD_COW) info["backing_file"] = cache.filename(backing.bs);
  Object.assign(info, {
    backing_file_depth: depth,
    encrypted: node.encrypted === true,
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
    write_threshold: node.writeThreshold ?? 0,
  });
  // bdrv_query_dirty_bitmaps: newest first.
  if (node.dirtyBitmaps?.length) {
    info["dirty-bitmaps"] = [...node.dirtyBitmaps].reverse().map((b) => ({
      ...(b.name !== undefined ? { name: b.name } : {}),
      count: b.count(),
      granularity: b.granularity,
      // bdrv_dirty_bitmap_recording: it, or its successor, records writes.
      recording: b.recording || (b.successor?.recording ?? false),
      busy: b.busy,
      persistent: b.persistent,
      ...(b.inconsistent ? { inconsistent: true } : {}),
    }));
  }
  return info;
}

export function namedBlockNodes(state: LayerState, flat: boolean): unknown[] {
  const cache = new ChainCache();
  const out: unknown[] = [];
  // bdrv_query_image_info takes each node's context.
  for (const node of state.nodes.values()) acquireNodeContext(state, node);
  for (const node of state.nodes.values()) out.push(blockDeviceInfo(node, flat, cache));
  return out.reverse();
}
