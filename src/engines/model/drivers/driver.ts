/**
 * What a block driver contributes to the model: QEMU's `BlockDriver` hooks, under their QEMU names.
 * Generic code calls a hook and never asks which driver a node has; a driver's state (`bs->opaque`)
 * is read only by that driver, through its own OpaqueSlot. Adding a driver touches its own file and
 * the driver table (index.ts), nothing else.
 */
import type { PermPair } from "../child-perms.js";
import type { FileLockTable } from "../file-locks.js";
import type { BdsNode, Child, Flat } from "../graph.js";
import type { OpaqueBox } from "../opaque.js";
import type { ThrottleGroups } from "../throttle-groups.js";

/** What the rest of the process offers a driver: the host's image locks and the QOM objects. */
export interface DriverHost {
  /** The OFD lock table of one host file, shared by every node that opens it. */
  locksFor(absPath: string): FileLockTable;
  /** The throttle-group objects and their reference counts. */
  readonly throttleGroups: ThrottleGroups;
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
  /** Change an attached child's role (inside the open's transaction) and refresh its permissions. */
  setChildRole(child: Child, role: number): void;
  /** Resolve a filename as given against the engine's working directory. */
  resolvePath(filename: string): string;
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
  /** reopen_state->opaque: what prepare staged for commit, through the driver's own slot. */
  opaque: OpaqueBox | null;
}

/** `BlockDriverInfo`, the part of it the model fills (`bdrv_get_info`). */
export interface BlockDriverInfo {
  /** 0 when the format has no clusters. */
  clusterSize: number;
  isDirty: boolean;
}

/** What a driver's `.bdrv_get_info` gives: its own answer, or the node it asks instead (raw-format asks its file). */
export type GetInfoAnswer = { info: BlockDriverInfo } | { askNode: BdsNode };

/** What `.bdrv_refresh_filename` works from. */
export interface RefreshFilenameArgs {
  /** Keys of the node's new bs->full_open_options. */
  fullOpenOptionKeys: readonly string[];
  /** The primary child's exact_filename ("" when there is no primary child or it has none). */
  primaryExactFilename: string;
}

/**
 * Where a read at offset 0 of a node lands, for the image headers the model reads in place of
 * `bdrv_pread`: a host file, a node read at the same offset, or nowhere the model follows.
 */
export type ReadAtZero = { hostFile: string } | { node: BdsNode } | null;

export interface DriverDef {
  /** QAPI BlockdevDriver name (format_name). */
  readonly name: string;
  /** Has `.bdrv_file_open`: a protocol driver (no `file` child is opened for probing before the node is named). */
  readonly protocol: boolean;
  /** `is_filter`. */
  readonly isFilter: boolean;
  /** `supports_backing`. */
  readonly supportsBacking: boolean;
  /** `block_driver_can_compress`: has `.bdrv_co_pwritev_compressed(_part)`. */
  readonly canCompress?: boolean;
  /** `mutable_opts`: options that may be left out on reopen (reset to their defaults). */
  readonly mutableOpts: readonly string[];
  /** `strong_runtime_opts`: options that make the node's filename a json: description (a trailing "." is a prefix). */
  readonly strongOpts?: readonly string[];

  /** `.bdrv_open`: validate options, set size/alignment/opaque state, open children via ctx. Throws QmpFailure. */
  open(ctx: OpenContext): void;
  /** `.bdrv_close`: release what open took (the children go afterwards, in generic code). */
  close?(node: BdsNode, host: DriverHost): void;

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
  /** `.bdrv_reopen_commit`: apply what prepare staged. */
  reopenCommit?(rs: ReopenState, host: DriverHost): void;
  /** `.bdrv_reopen_abort`: drop what prepare staged. */
  reopenAbort?(rs: ReopenState, host: DriverHost): void;

  /**
   * `.bdrv_getlength` of a driver with `has_variable_length`, asked on every query (see
   * node-length.ts); `length` measures another node the same way. Absent: the size from open.
   */
  getLength?(node: BdsNode, length: (n: BdsNode) => number): number;
  /** `.bdrv_get_allocated_file_size`; undefined for -ENOTSUP. Absent: the generic rule (block.c). */
  getAllocatedFileSize?(node: BdsNode): number | undefined;
  /** `.bdrv_get_info`. Absent: a filter asks its filtered child, anything else has none (-ENOTSUP). */
  getInfo?(node: BdsNode): GetInfoAnswer;
  /** `.bdrv_get_specific_info`: ImageInfoSpecific (`{type, data}`), built in QAPI member order. */
  getSpecificInfo?(node: BdsNode): Record<string, unknown>;
  /**
   * `.bdrv_refresh_filename`: the node's exact_filename, "" for none. Absent: a format node takes
   * its protocol child's, unless strong options or an overridden backing make it a json: name.
   */
  refreshFilename?(node: BdsNode, args: RefreshFilenameArgs): string;
  /** `.bdrv_dirname`: the directory relative backing names resolve against. Throws QmpFailure. */
  dirname?(node: BdsNode): string;
  /** Where a read at offset 0 lands (see ReadAtZero). Absent: a filter reads its filtered child, anything else is not followed. */
  readAtZero?(node: BdsNode): ReadAtZero;
}
