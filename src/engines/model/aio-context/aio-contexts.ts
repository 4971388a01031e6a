/**
 * AioContexts: the event loops block nodes run in. The main loop has one; each iothread object has
 * its own (iothread.c `iothread_get_aio_context`). A node's context is `bs->aio_context`
 * (bdrv_new puts a new node in the main loop's); a BlockBackend's follows its root node
 * (blk_get_aio_context asserts they agree), so only whether it may change (`allow_aio_context_change`)
 * is kept for it. One registry per model instance, nothing global.
 */
import type { BdsNode, BlockBackend } from "../graph.js";

/** One AioContext. Identity matters: an iothread deleted and added again under its id has a new one. */
export class AioContext {
  /**
   * Times the main thread took this context's lock and never gave it back: block_resize of a node
   * that its BlockBackend's release moved out of this iothread (commands/block-resize.ts). While
   * it is held, releasing it is no error, the iothread can run nothing, and destroying it aborts.
   */
  leakedLocks = 0;

  /**
   * A node closed without its driver (a qcow2 corruption took it away, so qcow2_close never ran)
   * left its cache-clean timer armed here: destroying this context aborts in timerlist_free.
   */
  strandedTimer: string | undefined;

  /**
   * Its iothread was deleted (iothread_instance_finalize → aio_context_unref): the context and its
   * lock are gone, but nodes left in it and a job that last ran in it still point at it.
   */
  destroyed = false;

  /**
   * An iothread was made after this one's was deleted, while something still used this context:
   * glibc may have given the new AioContext (an allocation of the same size) this one's freed
   * memory, and then what still points here runs in the new context, with a live lock. QEMU 7.2.22
   * went on with a write there in five runs of five; the model cannot tell, and says so.
   */
  mayBeTaken = false;

  /**
   * The properties of the iothread object that runs it (IOThread's poll-* fields and EventLoopBase's),
   * as object-add and qom-set last stored them; empty for the main context.
   */
  readonly params = new Map<string, bigint>();

  /** What query-iothreads gives as its `thread-id`: QEMU's is a kernel thread id, the model's a serial. */
  threadId = 0;

  constructor(
    /** "main", or the id of the iothread that runs it (what transcripts and errors name). */
    readonly name: string,
  ) {}

  get isMain(): boolean {
    return this.name === MAIN_CONTEXT_NAME;
  }
}

/** How `expect context` and docs name the main loop's context. */
export const MAIN_CONTEXT_NAME = "main";

export class AioContexts {
  /** `qemu_get_aio_context()`. */
  readonly main = new AioContext(MAIN_CONTEXT_NAME);
  /** Iothread objects by id (creation order), each with its context. */
  readonly iothreads = new Map<string, AioContext>();
  /** Iothreads started so far (their thread-id serials). */
  threadsStarted = 0;
  /** Nodes outside the main context; the rest are in it. */
  private readonly nodeContexts = new WeakMap<BdsNode, AioContext>();
  /**
   * BlockBackends that refuse any change of context (allow_aio_context_change left false): exports
   * made with fixed-iothread=on, a commit job's base and top, and the probe bdrv_open_inherit puts
   * on a format node's file while the driver opens (open-node.ts). An export without
   * fixed-iothread, a mirror's target and a stream's BlockBackend allow it. QEMU's other anonymous
   * BlockBackends (qemu-io's, block_resize's) refuse too, but live within one command and see no
   * move.
   */
  private readonly fixedBackends = new WeakSet<BlockBackend>();

  /** `bdrv_get_aio_context`. */
  of(node: BdsNode): AioContext {
    return this.nodeContexts.get(node) ?? this.main;
  }

  /** `bdrv_attach_aio_context`: the node now runs in `ctx`. */
  set(node: BdsNode, ctx: AioContext): void {
    if (ctx.isMain) this.nodeContexts.delete(node);
    else this.nodeContexts.set(node, ctx);
  }

  /** `iothread_by_id` → its context, or undefined. */
  iothread(id: string): AioContext | undefined {
    return this.iothreads.get(id);
  }

  /** Mark a BlockBackend as pinned to its context. */
  pin(bb: BlockBackend): void {
    this.fixedBackends.add(bb);
  }

  /** `blk->allow_aio_context_change` (for an anonymous BlockBackend, which is all this model has). */
  allowsChange(bb: BlockBackend): boolean {
    return !this.fixedBackends.has(bb);
  }
}

/**
 * A node without its driver leaves the context it is in (a move, its close): the driver's
 * detach_aio_context and close do not run, so a timer it had armed stays in that context.
 */
export function strandDriverTimer(ctx: AioContext, node: BdsNode): void {
  if (!node.ejected || node.timerStranded || !node.driver.timerArmed?.(node)) return;
  node.timerStranded = true;
  ctx.strandedTimer ??= node.name;
}

