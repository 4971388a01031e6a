/**
 * Everything one model instance knows: the nodes in QEMU's `graph_bdrv_states` order, BlockBackends,
 * exports, throttle groups, iothreads and AioContexts, the NBD server, queued events. One instance per engine; nothing global.
 */
import { GHashModel } from "../../qapi/ghash-order.js";
import { ChildSlots } from "./child-slots.js";
import type { DirtyBitmap } from "./jobs/dirty-bitmap.js";
import type { QmpEvent } from "../engine.js";
import { toQdictOrder } from "../../qapi/qdict-order.js";
import { AioContexts } from "./aio-context/aio-contexts.js";
import { AutoNamer } from "./auto-name.js";
import { EventRateLimit } from "./event-rate-limit.js";
import { HostFiles } from "./data/host-file.js";
import { MallocHeap } from "./data/malloc-heap.js";
import { FileLockTable } from "./file-locks.js";
import type { DriverHost } from "./drivers/driver.js";
import type { BdsNode, BlockBackend } from "./graph.js";
import { bdrvRef, bdrvUnref } from "./graph-ops.js";
import type { Job } from "./jobs/job.js";
import { MainLoop } from "./main-loop.js";
import { SecretObjects } from "./objects/secret-objects.js";
import { ThrottleGroups } from "./throttle-groups.js";

/** An event's timestamp as QMP sends it. */
export type EventTimestamp = { seconds: number; microseconds: number };

/** Wall-clock timestamps, for a layer used without an engine (benchmarks, unit tests). */
function wallClock(): EventTimestamp {
  const now = Date.now();
  return { seconds: Math.floor(now / 1000), microseconds: (now % 1000) * 1000 };
}

/** An NBD block export: an anonymous BlockBackend on a node. */
export interface BlockExport {
  id: string;
  /** NBD export name (defaults to the node name). */
  name: string;
  bb: BlockBackend;
  /** The dirty bitmaps it publishes (`bitmaps`), busy while it lives. */
  bitmaps: DirtyBitmap[];
}

export class LayerState implements DriverHost {
  /** Named nodes in graph_bdrv_states order (name assignment order); lookups by name. */
  readonly nodes = new Map<string, BdsNode>();
  /** BlockBackends in creation order. */
  readonly backends = new Set<BlockBackend>();
  readonly exports = new Map<string, BlockExport>();
  readonly throttleGroups = new ThrottleGroups();
  /** AioContexts: iothread objects and which context each node runs in (aio-context/). */
  readonly aio = new AioContexts();
  /** The data of the host files nodes do I/O on (one per path, shared by every node on it). */
  readonly hostFiles = new HostFiles();
  /** Secret objects (object-add qom-type=secret), by id. */
  readonly secrets = new SecretObjects();
  /** What glibc's malloc would give QEMU: fresh pages or recycled heap (data/malloc-heap.ts). */
  readonly heap = new MallocHeap();
  /** DriverHost.deferCompletions. */
  deferCompletions: Array<() => void> | undefined;
  /**
   * The children of QOM's /objects container as its property table holds them (every object's id,
   * inserted when it is added, removed when it goes): qom-list lists them in this table's order.
   */
  readonly qomObjects = new GHashModel();
  nbdServerRunning = false;
  /** Whether the process is qemu-system (a scenario that needs `io`), not qemu-storage-daemon. */
  qemuSystem = false;
  /** The UNIX socket the NBD server listens on (absolute; a NUL and the name for an abstract one), while it runs on one. */
  nbdServerSocket: string | undefined = undefined;
  /** Image lock counts by absolute path. */
  readonly fileLocks = new Map<string, FileLockTable>();
  readonly events: QmpEvent[] = [];
  /** Where a line the block layer writes to stderr goes: the qemu-io command running, if any. */
  stderrLine: ((line: string) => void) | undefined = undefined;
  waitWithoutLock: (() => Error) | null = null;
  laterReads = 0;
  corruptionMarks = 0;
  readonly autoNames: AutoNamer;
  /**
   * The job list (job.c `jobs`), oldest first; QEMU inserts at the head, so its walks (query-jobs,
   * x-debug-query-block-graph) read it backwards.
   */
  readonly jobs: Job[] = [];
  /** BdrvChild memory, for the pointers QEMU keeps to freed edges (child-slots.ts). */
  readonly childSlots = new ChildSlots();
  private serial = 0;

  constructor(
    /** Directory relative filenames resolve against. */
    readonly workdir: string,
    seed?: number,
    /** The main loop: timers and bottom halves of asynchronous work (block jobs). */
    readonly loop: MainLoop = new MainLoop(),
    /** Timestamps for events (the engine's virtual clock). */
    private readonly stamp: () => EventTimestamp = wallClock,
  ) {
    this.autoNames = new AutoNamer(seed);
  }

  /** The lock table of one image file (created on first use). */
  locksFor(absPath: string): FileLockTable {
    let table = this.fileLocks.get(absPath);
    if (!table) this.fileLocks.set(absPath, (table = new FileLockTable()));
    return table;
  }

  /** Whether `/objects/ID` exists: iothreads, throttle groups and secrets share the one QOM container. */
  objectExists(id: string): boolean {
    return this.aio.iothreads.has(id) || this.throttleGroups.has(id) || this.secrets.has(id);
  }

  /** A fresh serial number for a node or BlockBackend. */
  nextSerial(): number {
    return ++this.serial;
  }

  /**
   * Queue an event as QEMU's monitor would send it: `data` built in QAPI member order comes out in
   * QDict order, stamped now.
   */
  emit(event: string, data: Record<string, unknown>): void {
    this.#rateLimit ??= new EventRateLimit(this.loop, (e) => this.events.push(e));
    this.#rateLimit.queue({ event, data: toQdictOrder(data) as Record<string, unknown>, timestamp: this.stamp() });
  }

  /** The monitor's throttling of quorum's events (event-rate-limit.ts), made on first use. */
  #rateLimit: EventRateLimit | undefined;

  /** `bdrv_find_node`. */
  findNode(name: string): BdsNode | undefined {
    return this.nodes.get(name);
  }

  refNode(node: BdsNode): void {
    bdrvRef(node);
  }

  unrefNode(node: BdsNode): void {
    bdrvUnref(this, node);
  }

  /** `job_get_locked`: the job with this id. */
  findJob(id: string): Job | undefined {
    return this.jobs.find((j) => j.id === id);
  }
}
