/**
 * What a block driver contributes to the model: how it opens (options, children), which permissions
 * it takes on its children, which options may change on reopen, and its per-node checks.
 */
import type { BdsNode, Child, Flat } from "../graph.js";
import type { PermPair } from "../child-perms.js";
import type { FileLockTable } from "../file-locks.js";

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
  /** Whether a throttle group with this id exists. */
  hasThrottleGroup(id: string): boolean;
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

export interface DriverDef {
  /** QAPI BlockdevDriver name. */
  readonly name: string;
  /** Opened with bdrv_file_open (no implicit `file` child is opened before naming the node). */
  readonly protocol: boolean;
  readonly isFilter: boolean;
  readonly isFormat: boolean;
  readonly supportsBacking: boolean;
  /** Has .bdrv_reopen_prepare. */
  readonly supportsReopen: boolean;
  /** `mutable_opts`: options that may be left out on reopen (reset to their defaults). */
  readonly mutableOpts: readonly string[];
  /** Options the driver's reopen_prepare consumes, so they may change (checked by `reopenPrepare`). */
  readonly reopenOpts: readonly string[];
  /** Open the node: validate options, set size/alignment/state, open children via ctx. Throws QmpFailure. */
  open(ctx: OpenContext): void;
  /** `.bdrv_child_perm`. Absent for drivers without children. */
  childPerm?(args: ChildPermArgs): PermPair;
  /** `.bdrv_check_perm` with the node's new cumulative perms (file locks, preallocate). Throws QmpFailure. */
  checkPerm?(node: BdsNode, P: number, S: number, locks: FileLockTable | undefined): void;
  /** Validate the options a reopen would change; returns a commit action. Throws QmpFailure. */
  reopenPrepare?(node: BdsNode, options: Flat, ctx: { hasThrottleGroup(id: string): boolean }): () => void;
  /** `strong_runtime_opts`: options that make the node's filename a json: description (a trailing "." is a prefix). */
  readonly strongOpts?: readonly string[];
  /**
   * `.bdrv_getlength` of a driver with `has_variable_length`, asked on every query (see
   * node-length.ts); `length` measures another node the same way. Absent: the size from open.
   */
  getLength?(node: BdsNode, length: (n: BdsNode) => number): number;
}
