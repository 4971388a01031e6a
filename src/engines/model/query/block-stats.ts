/**
 * query-blockstats with `query-nodes` (block/qapi.c `bdrv_query_bds_stats(bs, false)` for each node
 * of graph_bdrv_states, oldest first). A node's own statistics are what block/io.c keeps in the
 * BlockDriverState: only `wr_highest_offset`; the rest of BlockDeviceStats is the BlockBackend's
 * accounting, zero here. `parent` nests the primary child when it holds data or is filtered, else
 * the one child that holds data; a node-level query never shows `backing`.
 */
import { acquireNodeContext } from "../aio-context/iothread-objects.js";
import { type BdsNode, type Child, primaryChild } from "../graph.js";
import type { LayerState } from "../layer-state.js";
import { BDRV_CHILD_DATA, BDRV_CHILD_FILTERED } from "../roles.js";

/** BlockDeviceStats as a zeroed BlockAcctStats gives it, in QAPI member order. */
function blockDeviceStats(bs: BdsNode): Record<string, unknown> {
  return {
    rd_bytes: 0,
    wr_bytes: 0,
    unmap_bytes: 0,
    rd_operations: 0,
    wr_operations: 0,
    flush_operations: 0,
    unmap_operations: 0,
    rd_total_time_ns: 0,
    wr_total_time_ns: 0,
    flush_total_time_ns: 0,
    unmap_total_time_ns: 0,
    wr_highest_offset: bs.wrHighestOffset ?? 0,
    rd_merged: 0,
    wr_merged: 0,
    unmap_merged: 0,
    failed_rd_operations: 0,
    failed_wr_operations: 0,
    failed_flush_operations: 0,
    failed_unmap_operations: 0,
    invalid_rd_operations: 0,
    invalid_wr_operations: 0,
    invalid_flush_operations: 0,
    invalid_unmap_operations: 0,
    account_invalid: false,
    account_failed: false,
    timed_stats: [],
  };
}

/** The child whose statistics go under `parent`. */
function parentChild(bs: BdsNode): Child | undefined {
  const primary = primaryChild(bs);
  if (primary && primary.role & (BDRV_CHILD_DATA | BDRV_CHILD_FILTERED)) return primary;
  // A unique data-storing child; several leave none.
  const data = bs.children.filter((c) => c.role & BDRV_CHILD_DATA);
  return data.length === 1 ? data[0] : undefined;
}

/** `bdrv_query_bds_stats(bs, false)`, in QAPI member order. */
function nodeStats(bs: BdsNode): Record<string, unknown> {
  const s: Record<string, unknown> = {};
  if (bs.name !== "") s["node-name"] = bs.name;
  s["stats"] = blockDeviceStats(bs);
  const specific = bs.ejected ? undefined : bs.driver.getSpecificStats?.(bs);
  if (specific) s["driver-specific"] = specific;
  const parent = parentChild(bs);
  if (parent) s["parent"] = nodeStats(parent.bs);
  return s;
}

export function queryNodeStats(state: LayerState): unknown[] {
  const out: unknown[] = [];
  for (const bs of state.nodes.values()) {
    if (bs.freed) continue;
    acquireNodeContext(state, bs);
    out.push(nodeStats(bs));
  }
  return out;
}
