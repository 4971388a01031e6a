/**
 * The model's synchronous core: a QEMU 7.2 block layer answering QMP commands. `execute` validates
 * the arguments as QEMU's QAPI layer does, runs the command, and returns the reply with every
 * object's keys in the order QEMU prints them. No promises, so benchmarks can drive it directly.
 */
import type { QmpEvent, QmpReply } from "../engine.js";
import { xBlockdevSetIothread } from "./aio-context/set-iothread-command.js";
import { blockCommit } from "./commands/block-commit.js";
import { blockResize } from "./commands/block-resize.js";
import { blockdevCreate } from "./create/blockdev-create.js";
import { blockdevSnapshot } from "./commands/blockdev-snapshot.js";
import { blockdevSnapshotSync } from "./commands/blockdev-snapshot-sync.js";
import { blockStream } from "./commands/block-stream.js";
import { changeBackingFile } from "./commands/change-backing-file.js";
import { driveBackup } from "./commands/drive-backup.js";
import { driveMirror } from "./commands/drive-mirror.js";
import { blockSetWriteThreshold } from "./commands/write-threshold.js";
import { transaction } from "./commands/transaction.js";
import {
  blockDirtyBitmapAdd,
  blockDirtyBitmapClear,
  xDebugBlockDirtyBitmapSha256,
  blockDirtyBitmapDisable,
  blockDirtyBitmapEnable,
  blockDirtyBitmapMerge,
  blockDirtyBitmapRemove,
} from "./commands/dirty-bitmaps.js";
import { blockdevAdd } from "./commands/blockdev-add.js";
import { blockdevDel } from "./commands/blockdev-del.js";
import { xBlockdevChange } from "./commands/x-blockdev-change.js";
import { blockdevBackup } from "./commands/blockdev-backup.js";
import { blockdevMirror } from "./commands/blockdev-mirror.js";
import { blockdevReopen } from "./commands/blockdev-reopen.js";
import { blockExportAdd, blockExportDel, nbdServerAdd, nbdServerRemove, nbdServerStart, nbdServerStop, queryBlockExports } from "./commands/exports.js";
import { DESTROYED_MUTEX_LOCKED, leakedLockAtQuit, nodeInDestroyedContext, type QuitEnd } from "./aio-context/iothread-objects.js";
import type { CommandHandler } from "./commands/handler.js";
import { objectAdd, objectDel } from "./commands/objects.js";
import { qomGet, qomList, qomSet } from "./commands/qom.js";
import { queryIothreads } from "./commands/query-iothreads.js";
import { queryBlock, queryBlockstats, queryNamedBlockNodes, xDebugQueryBlockGraph } from "./commands/queries.js";
import { blockdevSnapshotDeleteInternalSync, blockdevSnapshotInternalSync } from "./commands/blockdev-snapshot-internal.js";
import { queryVersion } from "./commands/version.js";
import { xBlockdevAmend } from "./commands/x-blockdev-amend.js";
import { JOB_COMMANDS } from "./jobs/job-commands.js";
import { closeAll, closeAllCrash, closeExportsAtQuit, storageDaemonQuit } from "./jobs/quit.js";
import type { HostFiles } from "./data/host-file.js";
import { type EventTimestamp, LayerState } from "./layer-state.js";
import type { MainLoop } from "./main-loop.js";
import { SYSTEM_ONLY_COMMANDS } from "../../qapi/system-commands.js";
import { validateQmpCommand } from "../../qapi/validate.js";
import { toQdictOrder } from "../../qapi/qdict-order.js";
import { ModelUnsupportedError } from "./model-unsupported.js";
import { hmpQemuIo } from "./qemu-io/hmp-qemu-io.js";
import { QemuAbort, QemuWouldCrashError } from "./qemu-would-crash.js";
import { QmpFailure } from "./qmp-failure.js";

/** How to build a model. */
export interface BlockLayerOptions {
  /** Directory that relative filenames resolve against (the engine's workdir). */
  workdir: string;
  /** Seed for the two random digits of auto node names (default: fixed, so runs repeat). */
  seed?: number;
  /** The main loop block jobs run on (default: a loop of its own, which only the caller can run). */
  loop?: MainLoop;
  /** Event timestamps (default: the wall clock). */
  stamp?: () => EventTimestamp;
  /**
   * The process is qemu-system rather than qemu-storage-daemon (the qemu engine starts it for
   * scenarios that need `io`): it also has query-iothreads.
   */
  system?: boolean;
}

/** Of qemu-system's own commands (those the daemon's schema lacks), the ones the model answers. */
const SYSTEM_COMMANDS: ReadonlyMap<string, CommandHandler> = new Map<string, CommandHandler>([["query-iothreads", queryIothreads]]);

const COMMANDS: ReadonlyMap<string, CommandHandler> = new Map<string, CommandHandler>([
  ["query-version", queryVersion],
  ["blockdev-add", blockdevAdd],
  ["blockdev-del", blockdevDel],
  ["blockdev-reopen", blockdevReopen],
  ["x-debug-query-block-graph", xDebugQueryBlockGraph],
  ["query-named-block-nodes", queryNamedBlockNodes],
  ["query-block", queryBlock],
  ["query-blockstats", queryBlockstats],
  ["object-add", objectAdd],
  ["object-del", objectDel],
  ["qom-list", qomList],
  ["qom-get", qomGet],
  ["qom-set", qomSet],
  ["x-blockdev-set-iothread", xBlockdevSetIothread],
  ["x-blockdev-change", xBlockdevChange],
  ["nbd-server-start", nbdServerStart],
  ["nbd-server-stop", nbdServerStop],
  ["nbd-server-add", nbdServerAdd],
  ["nbd-server-remove", nbdServerRemove],
  ["block-export-add", blockExportAdd],
  ["block-export-del", blockExportDel],
  ["query-block-exports", queryBlockExports],
  ["block-commit", blockCommit],
  ["block-stream", blockStream],
  ["blockdev-mirror", blockdevMirror],
  ["blockdev-backup", blockdevBackup],
  ["drive-backup", driveBackup],
  ["drive-mirror", driveMirror],
  ["block_resize", blockResize],
  ["blockdev-snapshot", blockdevSnapshot],
  ["blockdev-snapshot-sync", blockdevSnapshotSync],
  ["blockdev-snapshot-internal-sync", blockdevSnapshotInternalSync],
  ["blockdev-snapshot-delete-internal-sync", blockdevSnapshotDeleteInternalSync],
  ["block-set-write-threshold", blockSetWriteThreshold],
  ["change-backing-file", changeBackingFile],
  ["block-dirty-bitmap-add", blockDirtyBitmapAdd],
  ["block-dirty-bitmap-remove", blockDirtyBitmapRemove],
  ["block-dirty-bitmap-clear", blockDirtyBitmapClear],
  ["block-dirty-bitmap-enable", blockDirtyBitmapEnable],
  ["block-dirty-bitmap-disable", blockDirtyBitmapDisable],
  ["block-dirty-bitmap-merge", blockDirtyBitmapMerge],
  ["x-debug-block-dirty-bitmap-sha256", xDebugBlockDirtyBitmapSha256],
  ["transaction", transaction],
  ["blockdev-create", blockdevCreate],
  ["x-blockdev-amend", xBlockdevAmend],
  ...JOB_COMMANDS,
]);

export class BlockLayer {
  private readonly state: LayerState;
  private quitting = false;
  private readonly system: boolean;
  /** How `quit` ended the process, when it did not end cleanly (storageDaemonQuit). */
  private quitEnd: QuitEnd | undefined;

  constructor(opts: BlockLayerOptions) {
    this.state = new LayerState(opts.workdir, opts.seed, opts.loop, opts.stamp);
    this.system = opts.system ?? false;
    this.state.qemuSystem = this.system;
    // The working directory is there for QEMU; for the model it need not be on disk (yet).
    this.state.hostFiles.mkdir(opts.workdir);
  }

  /** The host files the block layer's nodes read and write (the model's images live there). */
  get hostFiles(): HostFiles {
    return this.state.hostFiles;
  }

  /** Names of the commands the model implements. */
  static commandNames(): string[] {
    return [...COMMANDS.keys(), "qmp_capabilities", "quit"].sort();
  }

  /** Whether `quit` was executed (the caller then shuts the engine down). */
  get quitRequested(): boolean {
    return this.quitting;
  }

  /**
   * Run one QMP command in command mode. QMP errors are replies; where QEMU 7.2 would crash this
   * throws QemuWouldCrashError (the engine reports it as QEMU's crash); model bugs throw.
   */
  execute(command: string, args?: Record<string, unknown>): QmpReply {
    const system = this.system ? SYSTEM_COMMANDS.get(command) : undefined;
    // qemu-system has it, and the model has no schema to check its arguments with, nor its state.
    if (this.system && !system && SYSTEM_ONLY_COMMANDS.has(command)) throw new ModelUnsupportedError(`the qemu-system QMP command '${command}'`);
    // They take no arguments: checked as the daemon checks its own argument-less commands.
    const checked = validateQmpCommand(system ? "query-jobs" : command, args);
    if (!checked.ok) return { error: checked.error };
    if (system) return { return: toQdictOrder(system(this.state, checked.args)) };
    if (command === "qmp_capabilities") {
      return { error: { class: "CommandNotFound", desc: "Capabilities negotiation is already complete, command ignored" } };
    }
    if (command === "quit") {
      this.quitting = true;
      // What the daemon does on its way out: exports closed, jobs cancelled (jobs/quit.ts).
      try {
        this.quitEnd = storageDaemonQuit(this.state);
      } catch (e) {
        if (e instanceof QemuAbort) throw new QemuWouldCrashError(command, e.signal, e.detail, { cause: e, exitCode: e.exitCode });
        throw e;
      }
      return { return: {} };
    }
    const handler = COMMANDS.get(command);
    if (!handler) {
      throw new ModelUnsupportedError(`the QMP command '${command}'`);
    }
    const ejected = [...this.state.nodes.values()].find((n) => n.ejected);
    if (ejected) {
      const answered = withEjectedNode(this.state, command);
      if (answered) return answered;
    }
    try {
      return { return: toQdictOrder(handler(this.state, checked.args, args)) };
    } catch (e) {
      if (e instanceof QmpFailure) return { error: e.body };
      if (e instanceof QemuAbort) throw new QemuWouldCrashError(command, e.signal, e.detail, { cause: e, exitCode: e.exitCode });
      throw e;
    }
  }

  /**
   * HMP `qemu-io DEVICE "COMMAND"` (qemu-io/hmp-qemu-io.ts): what QEMU prints. Where QEMU would
   * abort (qemu-io's `abort`) this throws QemuWouldCrashError, as execute() does.
   */
  qemuIo(device: string, command: string): string {
    try {
      return hmpQemuIo(this.state, device, command);
    } catch (e) {
      if (e instanceof QemuAbort) throw new QemuWouldCrashError("human-monitor-command", e.signal, e.detail, { cause: e, exitCode: e.exitCode });
      throw e;
    }
  }

  /**
   * The end of the process when the engine is stopped (the qemu engine sends `quit`): QEMU closes
   * the exports and then every node on its way out (jobs/quit.ts).
   */
  closeAll(): QuitEnd | undefined {
    return closeAll(this.state);
  }

  /**
   * How the process would end at `quit` (jobs/quit.ts): as the `quit` command found, or, for an
   * engine stopped without one, a leaked iothread lock that makes it hang or abort (then the
   * exports are closed as QEMU closes them first), or a node whose close segfaults.
   */
  quitOutcome(): QuitEnd | undefined {
    if (this.quitEnd || this.quitting) return this.quitEnd;
    if (nodeInDestroyedContext(this.state)) {
      // qemu-system's cleanup takes the freed context's lock too, but its heap has reused the
      // memory by then: it aborts, hangs or ends cleanly, from run to run.
      if (this.system) return { unknown: "a node runs in an AioContext whose iothread was deleted: qemu-system aborts, hangs or ends cleanly as it takes its freed lock, from run to run" };
      return { abort: DESTROYED_MUTEX_LOCKED };
    }
    const leaked = [...this.state.aio.iothreads.values()].some((c) => c.leakedLocks > 0);
    const closing = leaked ? closeExportsAtQuit(this.state) : undefined;
    if (closing) return closing;
    const end = leaked ? leakedLockAtQuit(this.state) : undefined;
    if (end && "hang" in end) return end;
    // job_cancel_sync_all frees every job left, with its context locked.
    if (this.state.jobs.some((j) => j.aioContext.destroyed)) return { abort: DESTROYED_MUTEX_LOCKED };
    return closeAllCrash(this.state) ?? end;
  }

  /** Events queued since the last call, oldest first. */
  takeEvents(): QmpEvent[] {
    return this.state.events.splice(0);
  }
}

/**
 * A QMP command while a node has no driver (qcow2_signal_corruption took it away): blockdev-del,
 * block-export-del and x-debug-query-block-graph work as ever; query-named-block-nodes fails at
 * the first such node (bdrv_block_device_info), unless one has a parent node, whose image info
 * asks it for its length (a BlockBackend above it, an export's, asks nothing). The rest the model
 * does not follow.
 */
function withEjectedNode(state: LayerState, command: string): QmpReply | undefined {
  if (command === "blockdev-del" || command === "block-export-del" || command === "x-debug-query-block-graph") return undefined;
  const ejected = [...state.nodes.values()].filter((n) => n.ejected);
  if (command === "query-named-block-nodes" && ejected.every((n) => n.parents.every((p) => p.parent.kind !== "node"))) {
    return { error: { class: "GenericError", desc: `Block device ${ejected[0]!.name} is ejected` } };
  }
  throw new ModelUnsupportedError(`the QMP command '${command}' while node '${ejected[0]!.name}' has no driver (a qcow2 corruption took it away)`);
}
