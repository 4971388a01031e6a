/**
 * What a block driver contributes to the model: QEMU's `BlockDriver` hooks, under their QEMU names.
 * Generic code calls a hook and never asks which driver a node has; a driver's state (`bs->opaque`)
 * is read only by that driver, through its own OpaqueSlot. Adding a driver touches its own file and
 * the driver table (index.ts), nothing else.
 */
import type { AioContext } from "../aio-context/aio-contexts.js";
import type { PermPair } from "../child-perms.js";
import type { Data } from "../data/data.js";
import type { HostFiles } from "../data/host-file.js";
import type { MallocHeap } from "../data/malloc-heap.js";
import type { PreallocMode } from "../data/truncate.js";
import type { FileLockTable } from "../file-locks.js";
import type { BdsNode, Child, Flat } from "../graph.js";
import type { SecretObjects } from "../objects/secret-objects.js";
import type { OpaqueBox } from "../opaque.js";
import type { ThrottleGroups } from "../throttle-groups.js";

/** What the rest of the process offers a driver: the host's image locks, the QOM objects, the nodes. */
export interface DriverHost {
  /** `bdrv_find_node`: a node by name. */
  findNode(name: string): BdsNode | undefined;
  /** `bdrv_ref`: hold a node (a driver keeping a pointer to one it is not the parent of). */
  refNode(node: BdsNode): void;
  /** `bdrv_unref` of such a hold: the node is freed if no one else holds it. */
  unrefNode(node: BdsNode): void;
  /** The OFD lock table of one host file, shared by every node that opens it. */
  locksFor(absPath: string): FileLockTable;
  /** The throttle-group objects and their reference counts. */
  readonly throttleGroups: ThrottleGroups;
  /** The data of the host files nodes do I/O on, one per path (data/host-file.ts). */
  readonly hostFiles: HostFiles;
  /** The secret objects, for drivers that take a `key-secret`. */
  readonly secrets: SecretObjects;
  /** Whether memory the process allocates is fresh pages (zeros) or recycled heap. */
  readonly heap: MallocHeap;
  /** Whether an object of any type has this id (`/objects/ID`). */
  objectExists(id: string): boolean;
  /** `qapi_event_send_*`: queue a QMP event (data built in QAPI member order). */
  emit(event: string, data: Record<string, unknown>): void;
  /** Whether the process is qemu-system (`bdrv_uses_whitelist`), not qemu-storage-daemon. */
  readonly qemuSystem: boolean;
  /** The UNIX socket this process's NBD server listens on (absolute; a NUL and the name for an abstract one), if it runs on one. */
  readonly nbdServerSocket: string | undefined;
  /** `fprintf(stderr, …)` from the block layer: one line, where the running qemu-io command's output has it (else lost). */
  readonly stderrLine?: ((line: string) => void) | undefined;
  /**
   * While the main thread polls, without the lock, a coroutine of a node in an iothread (a
   * driver's open reading its header): how QEMU dies if a request of that coroutine waits for
   * something to complete it (aio-context/main-thread-wait.ts). Null when nothing is polled so.
   */
  waitWithoutLock: (() => Error) | null;
  /**
   * How many reads so far went to a node that answers later (request-waits.ts): a caller that must
   * know whether its own read waited (a verdict that comes with its completion) compares the count
   * before and after.
   */
  laterReads: number;
  /**
   * How many fatal corruptions so far marked an image corrupt: in a coroutine, that header write
   * goes to the thread pool, so what the request does next comes after the command's reply.
   */
  corruptionMarks: number;
  /**
   * While set, what happens once a job's requests complete waits here: what buffered reads do to
   * the page cache (a job's reads go to the thread pool, and the job asks the next block status
   * before the worker has read, mirror-run.ts), and what qcow2 does after a write that blkdebug
   * fails after a turn of the loop (the pass's other tasks have allocated their clusters by then).
   */
  deferCompletions?: Array<() => void> | undefined;
}

/** Services a driver needs while opening a node (see open-node.ts). */
export interface OpenContext {
  /** The node being opened; its name is already assigned. */
  node: BdsNode;
  /** The node's flattened options, children's options and references included. */
  options: Flat;
  /**
   * `bdrv_open_child`: open or look up the child given by `options[name]` (reference) or `name.*`
   * (inline), attach it (refreshing permissions) and return the edge, or null when absent and allowed.
   */
  openChild(name: string, role: number, allowNone: boolean): Child | null;
  /** `bdrv_open_child` with a filename from the image header: a protocol node on that file, attached. */
  openChildFromFile(name: string, role: number, filename: string): Child;
  /**
   * `bdrv_open_child(filename, options, name, …)` with a filename from the image header and the
   * user's options for that child (`name.*`) merged: a protocol child takes the name as its
   * `filename` (refusing one given as well), a format child opens its `file` from it; a reference is
   * refused, as bdrv_open_inherit refuses a reference with a filename. Attached; throws QmpFailure.
   */
  openChildWithFilename(name: string, role: number, filename: string): Child;
  /** Change an attached child's role (inside the open's transaction) and refresh its permissions. */
  setChildRole(child: Child, role: number): void;
  /** Resolve a filename as given against the engine's working directory. */
  resolvePath(filename: string): string;
  /** The engine's working directory, where a relative name is looked up from. */
  workdir: string;
  /** Locks and objects. */
  host: DriverHost;
}

/** Arguments of a driver's child-permission function. */
export interface ChildPermArgs {
  node: BdsNode;
  child: Child;
  /** Cumulative perm / shared perm of `node`. */
  P: number;
  S: number;
  /** Whether `node` is writable after the reopen being checked (or now). */
  writable: boolean;
}

/** BDRVReopenState as a driver sees it. */
export interface ReopenState {
  readonly bs: BdsNode;
  /**
   * reopen_state->options. In prepare: the options not yet handled, from which the driver deletes
   * what it takes (whatever is left must equal the old value); in commit and abort: all of them.
   */
  options: Flat;
  /** Not BDRV_O_RDWR in reopen_state->flags: the node is read-only after the reopen. */
  readonly readOnly: boolean;
  /** reopen_state->opaque: what prepare staged for commit, through the driver's own slot. */
  opaque: OpaqueBox | null;
}

/** `BlockDriverInfo`, the part of it the model fills (`bdrv_get_info`). */
export interface BlockDriverInfo {
  /** 0 when the format has no clusters. */
  clusterSize: number;
  isDirty: boolean;
  /** bdi.vm_state_offset (qemu-io's `info`); absent: 0. */
  vmStateOffset?: number;
}

/**
 * What a driver's `.bdrv_get_info` gives: its own answer, the node it asks instead (raw-format asks
 * its file), or -ENOTSUP (vmdk with extents of different kinds).
 */
export type GetInfoAnswer = { info: BlockDriverInfo } | { askNode: BdsNode } | { notSupported: true };

/** What `.bdrv_refresh_filename` works from. */
export interface RefreshFilenameArgs {
  /** Keys of the node's new bs->full_open_options. */
  fullOpenOptionKeys: readonly string[];
  /** The primary child's exact_filename ("" when there is no primary child or it has none). */
  primaryExactFilename: string;
  /** The primary child's filename after its refresh ("" when there is no primary child). */
  primaryFilename: string;
  /** Any child's exact_filename after its refresh ("" for none). */
  exactFilenameOf(child: BdsNode): string;
}

/**
 * Where a read at offset 0 of a node lands, for the image headers the model reads in place of
 * `bdrv_pread`: a host file, a node read at the same offset, nothing a header could be in (null),
 * or bytes QEMU would read that the model cannot place (`unsupported` says why: opening the image
 * there is a ModelIoUnsupportedError, never a made-up "not in this format").
 */
export type ReadAtZero = { hostFile: string } | { node: BdsNode } | { unsupported: string } | null;

/** The part of `bs->bl` (`.bdrv_refresh_limits`) that splits requests in block/io.c; 0 or absent: none. */
export interface IoLimits {
  /** bl.request_alignment beyond the node's own (the compress filter's cluster size). */
  requestAlignment?: number;
  /** bl.pwrite_zeroes_alignment. */
  pwriteZeroesAlignment?: number;
  /** bl.pdiscard_alignment. */
  pdiscardAlignment?: number;
  /** bl.max_pwrite_zeroes, bl.max_pdiscard and bl.max_transfer (0 or absent: no limit of the driver's). */
  maxPwriteZeroes?: number;
  maxPdiscard?: number;
  maxTransfer?: number;
}

/** What `.bdrv_co_block_status` answers: BDRV_BLOCK_* bits, for how many bytes, and where they are. */
export interface BlockStatusAnswer {
  status: number;
  pnum: number;
  /** With BDRV_BLOCK_OFFSET_VALID: the offset in `file`. */
  map: number;
  file: BdsNode | null;
}

/** What x-blockdev-change lets a driver do to its children, inside the command's transaction. */
export interface ChildChangeOps {
  /** `bdrv_attach_child(parent, bs, name, &child_of_bds, role)`: attach and refresh permissions. Throws QmpFailure. */
  attach(bs: BdsNode, name: string, role: number): Child;
  /** `bdrv_unref_child`: detach, relax the child's permissions, free it if nothing else holds it. */
  detach(child: Child): void;
}

export interface DriverDef {
  /** QAPI BlockdevDriver name (format_name). */
  readonly name: string;
  /** Has `.bdrv_file_open`: a protocol driver (no `file` child is opened for probing before the node is named). */
  readonly protocol: boolean;
  /** `is_filter`. */
  readonly isFilter: boolean;
  /** `supports_backing`. */
  readonly supportsBacking: boolean;
  /**
   * BDRV_REQ_FUA in what the driver's open sets as bs->supported_write_flags and
   * bs->supported_zero_flags: its own (`own`), or its file's as they were then (`file`); absent: no
   * FUA, which the generic code emulates with a flush of the node after the write.
   */
  readonly fua?: { readonly write?: "own" | "file"; readonly zero?: "own" | "file" };
  /** The child `bdrv_open_file_child` opened, which QEMU keeps in bs->file, when it is not named `file`. */
  readonly fileChildName?: string;
  /** `block_driver_can_compress`: has `.bdrv_co_pwritev_compressed(_part)`. */
  readonly canCompress?: boolean;
  /** The filter turns every write into a compressed one (compress): what goes through it can be written once. */
  readonly compressesWrites?: boolean;
  /** `mutable_opts`: options that may be left out on reopen (reset to their defaults). */
  readonly mutableOpts: readonly string[];
  /** `strong_runtime_opts`: options that make the node's filename a json: description (a trailing "." is a prefix). */
  readonly strongOpts?: readonly string[];

  /**
   * `.bdrv_parse_filename` (protocol drivers): a file name the block layer hands the node (a backing
   * file named by an image header), turned into options; `options.filename` holds it on entry and is
   * kept or dropped as the driver's `bdrv_needs_filename` says. Throws QmpFailure. Absent: the model
   * does not open this driver from a file name.
   */
  parseFilename?(filename: string, options: Flat): void;
  /**
   * `.bdrv_probe`: how sure the driver is that an image starting with `buf` (the first 2048 bytes of
   * the file, zero-padded) named `filename` is its format; bdrv_probe_all takes the highest score.
   * Absent: never probed.
   */
  probe?(buf: Buffer, filename: string): number;
  /** `.bdrv_open`: validate options, set size/alignment/opaque state, open children via ctx. Throws QmpFailure. */
  open(ctx: OpenContext): void;
  /** `.bdrv_close`: release what open took (the children go afterwards, in generic code). */
  close?(node: BdsNode, host: DriverHost): void;
  /** What QEMU 7.2 would crash on (SIGSEGV) if the node were closed now, or undefined. */
  closeCrash?(node: BdsNode): string | undefined;
  /** Why closing the node at quit ends QEMU 7.2 one way or another from run to run, or undefined. */
  closeUnknown?(node: BdsNode): string | undefined;
  /**
   * Whether the node has a timer armed in its AioContext (qcow2's cache-clean timer): destroying
   * that context then aborts in timerlist_free.
   */
  timerArmed?(node: BdsNode): boolean;
  /** `.bdrv_attach_aio_context`: the node was moved into `ctx` (aio-context/). */
  attachAioContext?(node: BdsNode, ctx: AioContext): void;
  /**
   * Has `.bdrv_co_drain_begin` / `.bdrv_co_drain_end`: bdrv_drain_invoke runs them as coroutines in
   * the node's AioContext, and the drain's poll waits for them (aio-context/main-thread-wait.ts).
   */
  readonly coDrainBegin?: boolean;
  readonly coDrainEnd?: boolean;
  /** What `.bdrv_co_drain_begin` does when a drained section begins on the node (`bdrv_drain_invoke`). */
  drainBegin?(node: BdsNode): void;

  /** `.bdrv_child_perm`. Absent for drivers that never have children (QEMU asserts they have none). */
  childPerm?(args: ChildPermArgs): PermPair;
  /** `.bdrv_check_perm`: may the node take these cumulative perms? Throws QmpFailure; may prepare (lock bytes). */
  checkPerm?(node: BdsNode, perm: number, shared: number, host: DriverHost): void;
  /** `.bdrv_set_perm`: the transaction committed; the node now has these cumulative perms. */
  setPerm?(node: BdsNode, perm: number, shared: number, host: DriverHost): void;
  /** `.bdrv_abort_perm_update`: the transaction aborted; go back to the perms before it. */
  abortPermUpdate?(node: BdsNode, host: DriverHost): void;

  /**
   * `.bdrv_reopen_prepare`: check and stage a reopen, deleting from `rs.options` what the driver
   * handles. Absent: the driver cannot reopen. Throws QmpFailure.
   */
  reopenPrepare?(rs: ReopenState, host: DriverHost): void;
  /**
   * `.bdrv_join_options`: merge a clone of the old options into a reopen's new ones. Absent:
   * qdict_join (what the new options lack, from the old).
   */
  joinOptions?(options: Flat, old: Flat): void;
  /** `.bdrv_reopen_commit`: apply what prepare staged. */
  reopenCommit?(rs: ReopenState, host: DriverHost): void;
  /** `.bdrv_reopen_abort`: drop what prepare staged. */
  reopenAbort?(rs: ReopenState, host: DriverHost): void;
  /** `.bdrv_reopen_commit_post`: after every node of the reopen committed and the graph changed. */
  reopenCommitPost?(rs: ReopenState, host: DriverHost): void;

  /**
   * `.bdrv_recurse_can_replace`: whether replacing `toReplace` by a node that shows what `node`
   * shows leaves what `node` shows unchanged. Absent: a filter recurses to its filtered child, any
   * other node answers no. `recurse` is bdrv_recurse_can_replace itself.
   */
  recurseCanReplace?(node: BdsNode, toReplace: BdsNode, recurse: (bs: BdsNode | null, toReplace: BdsNode) => boolean): boolean;

  /**
   * `.bdrv_getlength` of a driver with `has_variable_length`, asked on every query (see
   * node-length.ts); `length` measures another node the same way. Absent: the size from open.
   */
  getLength?(node: BdsNode, length: (n: BdsNode) => number): number;
  /**
   * `.bdrv_getlength` of a driver without has_variable_length: what refresh_total_sectors sets
   * its size to after a truncate (blkverify: its test file's). `hint` is the truncate's size in
   * whole sectors, rounded down, which a driver without .bdrv_getlength keeps. Absent: the
   * filtered child's length.
   */
  refreshedLength?(node: BdsNode, hint: number): number;
  /** `.bdrv_get_allocated_file_size`; undefined for -ENOTSUP. Absent: the generic rule (block.c). */
  getAllocatedFileSize?(node: BdsNode): number | undefined;
  /**
   * `.bdrv_co_can_store_new_dirty_bitmap`: throws the QmpFailure that refuses a new persistent
   * bitmap. Absent: persistent bitmaps are refused ("Can't store persistent bitmaps to …").
   */
  canStoreNewDirtyBitmap?(node: BdsNode, name: string, granularity: number): void;
  /** `.bdrv_co_remove_persistent_dirty_bitmap`: the bitmap leaves the image (one it lacks is no error). Throws QmpFailure. */
  removePersistentDirtyBitmap?(node: BdsNode, name: string): void;
  /** `.bdrv_get_info`. Absent: a filter asks its filtered child, anything else has none (-ENOTSUP). */
  getInfo?(node: BdsNode): GetInfoAnswer;
  /** `.bdrv_get_specific_info`: ImageInfoSpecific (`{type, data}`), built in QAPI member order. */
  getSpecificInfo?(node: BdsNode): Record<string, unknown>;
  /** `.bdrv_amend_pre_run`, in the x-blockdev-amend command; throws a QmpFailure or what the model cannot do. */
  amendPreRun?(node: BdsNode): void;
  /** `.bdrv_co_amend`, in x-blockdev-amend's job: the job's error, or null. */
  amend?(node: BdsNode, options: Record<string, unknown>): string | null;
  /** `.bdrv_snapshot_list`: how many internal snapshots the node has, or -errno. */
  snapshotCount?(node: BdsNode): number;
  /** `.bdrv_snapshot_create`: 0 or -errno. */
  snapshotCreate?(node: BdsNode): number;
  /** `.bdrv_get_specific_stats`: BlockStatsSpecific (`{driver, …}`), built in QAPI member order. */
  getSpecificStats?(node: BdsNode): Record<string, unknown>;
  /**
   * `.bdrv_refresh_filename`: the node's exact_filename, "" for none. Absent: a format node takes
   * its protocol child's, unless strong options or an overridden backing make it a json: name.
   */
  refreshFilename?(node: BdsNode, args: RefreshFilenameArgs): string;
  /**
   * `.bdrv_gather_child_options`: the children's part of bs->full_open_options, as JSON texts by
   * key; `fullJson` gives a child's own. Absent: each child under its name (and `backing` rules).
   */
  gatherChildOptions?(node: BdsNode, fullJson: (child: BdsNode) => string): Record<string, string>;
  /** `.bdrv_add_child` (x-blockdev-change with `node`). Absent: the node does not support adding a child. */
  addChild?(node: BdsNode, child: BdsNode, ops: ChildChangeOps): void;
  /** `.bdrv_del_child` (x-blockdev-change with `child`). Absent: the node does not support removing a child. */
  delChild?(node: BdsNode, child: Child, ops: ChildChangeOps): void;
  /** `.bdrv_dirname`: the directory relative backing names resolve against. Throws QmpFailure. */
  dirname?(node: BdsNode): string;
  /**
   * How many metadata reads the node's block status has made so far (qcow2's first one reads its
   * refcount blocks): a caller that sees the count grow across its call waited for that I/O.
   * Absent: none ever.
   */
  blockStatusMetadataReads?(node: BdsNode): number;
  /**
   * Whether a read of the node's data is a request to the thread pool (file-posix's
   * `raw_thread_pool_submit`) that completes in a later main-loop turn, rather than an answer the
   * coroutine gets at once. Job scheduling depends on it. Absent: at once.
   */
  readsInThreadPool?: boolean;
  /** The node's bytes are a regular host file (file-posix's `file`): the only nodes blockdev-create's image writers lay an image out on. */
  createsOnHostFile?: boolean;
  /**
   * Whether the node's `supported_zero_flags` include BDRV_REQ_MAY_UNMAP (zeros written by
   * unmapping, what `bdrv_can_write_zeroes_with_unmap` asks). Absent: no.
   */
  supportsZeroUnmap?(node: BdsNode): boolean;
  /**
   * `.bdrv_has_zero_init`: a node just created reads as zeros; `recurse` is bdrv_has_zero_init of
   * a child. Absent: has-zero-init.ts decides (a filter asks its child, anything else says no).
   */
  hasZeroInit?(node: BdsNode, recurse: (bs: BdsNode) => boolean): boolean;
  /**
   * `.bdrv_change_backing_file`: write a new backing file name and format (null: none) into the
   * image; 0 or -errno. Absent: -ENOTSUP.
   */
  changeBackingFile?(node: BdsNode, backingFile: string | null, backingFormat: string | null): number;
  /** Where a read at offset 0 lands (see ReadAtZero). Absent: a filter reads its filtered child, anything else is not followed. */
  readAtZero?(node: BdsNode): ReadAtZero;

  // The data path (data/block-io.ts calls these as block/io.c calls the driver). Requests arrive
  // checked and within the node's length; failures throw IoError with QEMU's errno.

  /** `.bdrv_refresh_limits`, its alignments. Absent: none beyond bl.request_alignment. */
  ioLimits?(node: BdsNode): IoLimits;
  /**
   * For a driver whose limits come from its children (compress: the child's cluster size): take
   * them now, as bdrv_refresh_limits does (refresh-limits.ts says when); returns what puts the old
   * ones back. Absent: ioLimits depends on the node alone.
   */
  refreshLimits?(node: BdsNode): () => void;
  /** `.bdrv_co_preadv_part`. Absent: the model cannot read through this driver. */
  preadv?(host: DriverHost, node: BdsNode, offset: number, bytes: number, flags: number): Data;
  /** `.bdrv_co_pwritev_part`. Absent: the model cannot write through this driver. */
  pwritev?(host: DriverHost, node: BdsNode, offset: number, data: Data, flags: number): void;
  /** `.bdrv_co_pwrite_zeroes`; IoError(ENOTSUP) makes the caller write a zeroed buffer. Absent: always that. */
  pwriteZeroes?(host: DriverHost, node: BdsNode, offset: number, bytes: number, flags: number): void;
  /** `.bdrv_co_pwritev_compressed_part`; only drivers with `canCompress`. */
  pwritevCompressed?(host: DriverHost, node: BdsNode, offset: number, data: Data): void;
  /** `.bdrv_load_vmstate`: a read of the VM state area. Absent: the request goes to the primary child (data/vmstate.ts). */
  loadVmstate?(host: DriverHost, node: BdsNode, pos: number, bytes: number): Data;
  /** `.bdrv_save_vmstate`, given with loadVmstate. */
  saveVmstate?(host: DriverHost, node: BdsNode, pos: number, data: Data): void;
  /** `.bdrv_co_pdiscard`; IoError(ENOTSUP) is ignored, as block/io.c ignores it. Absent: discarding does nothing. */
  pdiscard?(host: DriverHost, node: BdsNode, offset: number, bytes: number): void;
  /**
   * `.bdrv_co_flush`: a driver that flushes the whole stack itself, by flushing these nodes (a
   * filter's child, whatever the permissions on it). Absent: the generic flush.
   */
  flushVia?(node: BdsNode): BdsNode[];
  /** `.bdrv_co_flush` of a driver that does more than flush some children (quorum's vote); wins over flushVia. */
  flush?(host: DriverHost, node: BdsNode): void;
  /**
   * `.bdrv_co_flush_to_os`: what the driver keeps in its own caches is written to its children
   * (qcow2's L2 tables). Absent: it keeps nothing.
   */
  flushToOs?(host: DriverHost, node: BdsNode): void;
  /** `.bdrv_co_flush_to_disk` (file-posix's fdatasync): what the node wrote reaches the disk. */
  flushToDisk?(host: DriverHost, node: BdsNode): void;
  /**
   * `.bdrv_co_preadv_snapshot`, `.bdrv_co_snapshot_block_status` and `.bdrv_co_pdiscard_snapshot`:
   * the point-in-time view a snapshot-access node reads (copy-before-write's). Absent: -ENOTSUP.
   */
  preadvSnapshot?(host: DriverHost, node: BdsNode, offset: number, bytes: number): Data;
  snapshotBlockStatus?(host: DriverHost, node: BdsNode, wantZero: boolean, offset: number, bytes: number): BlockStatusAnswer;
  pdiscardSnapshot?(host: DriverHost, node: BdsNode, offset: number, bytes: number): void;
  /** `.bdrv_co_block_status`. Absent: a filter defers to its filtered child, anything else is data all through. */
  blockStatus?(host: DriverHost, node: BdsNode, wantZero: boolean, offset: number, bytes: number): BlockStatusAnswer;
  /**
   * `.bdrv_co_truncate` (data/truncate.ts calls it), which also sets the node's new length as
   * refresh_total_sectors would. Absent: a filter passes the truncate on, anything else refuses it.
   */
  truncate?(host: DriverHost, node: BdsNode, offset: number, exact: boolean, prealloc: PreallocMode, flags: number): void;
  /** bs->supported_truncate_flags. Absent: none. */
  supportedTruncateFlags?(node: BdsNode): number;
  /** `.bdrv_debug_event` and the breakpoint hooks (blkdebug). Absent: events are ignored. */
  debug?: DebugHooks;
  /**
   * The blkdebug events this format sends its `file` child, besides the generic ones (`none`,
   * `flush_to_os`, `flush_to_disk`), where the model sends every one QEMU would. Absent: the model
   * does not follow the format's events, and refuses blkdebug rules below it.
   */
  blkdebugEvents?: readonly string[];
}

/** blkdebug's `.bdrv_debug_*` hooks; errors are positive errno values (0: success). */
export interface DebugHooks {
  event(node: BdsNode, event: string): void;
  breakpoint(node: BdsNode, event: string, tag: string): number;
  removeBreakpoint(node: BdsNode, tag: string): number;
  resume(node: BdsNode, tag: string): number;
  isSuspended(node: BdsNode, tag: string): boolean;
  /**
   * A request QEMU sends that the model answers without it (an L2 table read again into the cache,
   * a header written into the host file): true when a rule would fail it, which the model then
   * cannot follow.
   */
  wouldFail(node: BdsNode, offset: number, bytes: number, iotype: "read" | "write"): boolean;
}
