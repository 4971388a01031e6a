/**
 * Everything one model instance knows: the nodes in QEMU's `graph_bdrv_states` order, BlockBackends,
 * exports, throttle groups, the NBD server, queued events. One instance per engine; nothing global.
 */
import type { QmpEvent } from "../engine.js";
import { AutoNamer } from "./auto-name.js";
import { FileLockTable } from "./file-locks.js";
import type { DriverHost } from "./drivers/driver.js";
import type { BdsNode, BlockBackend } from "./graph.js";
import { ThrottleGroups } from "./throttle-groups.js";

/** An NBD block export: an anonymous BlockBackend on a node. */
export interface BlockExport {
  id: string;
  /** NBD export name (defaults to the node name). */
  name: string;
  bb: BlockBackend;
  node: BdsNode;
}

export class LayerState implements DriverHost {
  /** Named nodes in graph_bdrv_states order (name assignment order); lookups by name. */
  readonly nodes = new Map<string, BdsNode>();
  /** BlockBackends in creation order. */
  readonly backends = new Set<BlockBackend>();
  readonly exports = new Map<string, BlockExport>();
  readonly throttleGroups = new ThrottleGroups();
  nbdServerRunning = false;
  /** Image lock counts by absolute path. */
  readonly fileLocks = new Map<string, FileLockTable>();
  readonly events: QmpEvent[] = [];
  readonly autoNames: AutoNamer;
  private serial = 0;

  constructor(
    /** Directory relative filenames resolve against. */
    readonly workdir: string,
    seed?: number,
  ) {
    this.autoNames = new AutoNamer(seed);
  }

  /** The lock table of one image file (created on first use). */
  locksFor(absPath: string): FileLockTable {
    let table = this.fileLocks.get(absPath);
    if (!table) this.fileLocks.set(absPath, (table = new FileLockTable()));
    return table;
  }

  /** A fresh serial number for a node or BlockBackend. */
  nextSerial(): number {
    return ++this.serial;
  }

  /** Queue an event as QEMU would emit it (with a wall-clock timestamp). */
  emit(event: string, data: Record<string, unknown>): void {
    const now = Date.now();
    this.events.push({
      event,
      data,
      timestamp: { seconds: Math.floor(now / 1000), microseconds: (now % 1000) * 1000 },
    });
  }
}
