/**
 * The temporary BlockBackend that 7.2's HMP `qemu-io` makes for a node (block/monitor/block-hmp-cmds.c
 * `hmp_qemu_io`: `blk_new(ctx, 0, BLK_PERM_ALL)` and `blk_insert_bs`), the permission a command adds
 * to it (qemu-io-cmds.c `command` → `blk_set_perm`), and the `blk_*` requests the commands make,
 * each checked against the node's length first (`blk_check_byte_request`).
 */
import { blkInsertBs, blkNew, blkUnref, type PendingBackend } from "../block-backend.js";
import { bdrvFlush, bdrvPdiscard, bdrvPreadv, bdrvPwritev, blkPwriteZeroes, isInserted } from "../data/block-io.js";
import { Data } from "../data/data.js";
import { bdrvLoadVmstate, bdrvSaveVmstate } from "../data/vmstate.js";
import { Errno, ioFail, ModelIoUnsupportedError } from "../data/io-error.js";
import { BDRV_REQ_WRITE_COMPRESSED } from "../data/request-flags.js";
import type { BdsNode, Child } from "../graph.js";
import type { LayerState } from "../layer-state.js";
import { nodeLength } from "../node-length.js";
import { qemuAssert } from "../qemu-would-crash.js";
import { QemuHang } from "../qemu-would-hang.js";
import { refreshPerms, setChildPerm } from "../perm-refresh.js";
import { BLK_PERM_ALL } from "../perms.js";
import { runInTransaction } from "../transaction.js";

/** Where aio_poll asserts that it runs in the context's home thread (Debian's 7.2.22 build). */
const AIO_POLL = { file: "../../util/aio-posix.c", line: 620, func: "aio_poll" };

export class IoBackend {
  readonly #blk: PendingBackend;

  /** `blk_new(…, 0, BLK_PERM_ALL)` + `blk_insert_bs`: throws the attach's QmpFailure. */
  constructor(
    private readonly state: LayerState,
    node: BdsNode,
  ) {
    this.#blk = blkNew(state, 0, BLK_PERM_ALL);
    try {
      blkInsertBs(state, this.#blk, node);
      state.childSlots.transient(this.#root);
    } catch (e) {
      blkUnref(state, this.#blk.bb);
      throw e;
    }
  }

  get #root(): Child {
    return this.#blk.bb.root!;
  }

  /** `blk_bs`. */
  get bs(): BdsNode {
    return this.#root.bs;
  }

  /** `blk_get_perm`. */
  get perm(): number {
    return this.#root.perm;
  }

  /** The shared half of `blk_get_perm`. */
  get shared(): number {
    return this.#root.shared;
  }

  /** `blk_set_perm` → `bdrv_child_try_set_perm`: throws QmpFailure with QEMU's message. */
  setPerm(perm: number, shared: number): void {
    runInTransaction((tran) => {
      setChildPerm(this.#root, perm, shared, tran);
      refreshPerms(this.state, [this.bs], tran);
    });
  }

  /** `blk_unref` of the last reference (its requests have all completed: the model's are synchronous). */
  unref(): void {
    blkUnref(this.state, this.#blk.bb);
  }

  /** `blk_getlength`. */
  length(): number {
    return nodeLength(this.bs);
  }

  /**
   * `blk_wait_while_drained`, which every request runs before anything else: a BlockBackend whose
   * root is in a drained section queues the request until the section ends. qemu-io's BlockBackend
   * does not disable that queuing, and HMP waits for the request in the main loop, so a section
   * that no command can end while this one waits (a mirror's source after its switch-over, until
   * the job is finalized) is a QEMU that never answers again.
   */
  #waitWhileDrained(request: string): void {
    // An iothread whose lock the main thread leaked (block_resize) cannot run the request.
    if (this.state.aio.of(this.bs).leakedLocks > 0) {
      throw new QemuHang(`a qemu-io ${request} on '${this.bs.name}' waits for iothread '${this.state.aio.of(this.bs).name}', whose AioContext lock the main thread took and never gave back`);
    }
    if ((this.#root.parentQuiesce ?? 0) > 0) {
      throw new QemuHang(`a qemu-io ${request} on '${this.bs.name}' waits in blk_wait_while_drained for a drained section that nothing will end`);
    }
  }

  /**
   * How qemu-io waits for a request it runs in a coroutine of its own (`do_co_pwrite_zeroes`): it
   * polls the BlockBackend's context with `aio_poll`. HMP runs it in the main thread, and aio_poll of
   * an iothread's context from there fails its home-thread assertion before anything else happens.
   */
  pollOwnContext(): void {
    if (!this.state.aio.of(this.bs).isMain) qemuAssert(AIO_POLL, "in_aio_context_home_thread(ctx == iohandler_get_aio_context() ? qemu_get_aio_context() : ctx)");
  }

  /**
   * How `readv` and `writev` wait for their request (`do_aio_readv`/`do_aio_writev`): the main loop
   * runs until the callback has been called. hmp_qemu_io holds the node's context meanwhile, so an
   * iothread can never run the request: QEMU 7.2 never answers again.
   */
  waitInMainLoop(command: string): void {
    if (!this.state.aio.of(this.bs).isMain) {
      throw new QemuHang(`qemu-io ${command} on '${this.bs.name}' waits in the main loop for a request that its iothread cannot run while HMP holds the iothread's AioContext`);
    }
  }

  /**
   * qemu-io's `aio_read` and `aio_write` return before their request is done, and HMP frees the
   * BlockBackend right after; in an iothread the request then runs on a freed BlockBackend, and
   * what QEMU 7.2 does next (an abort, a segfault, "No medium found") depends on timing.
   */
  asyncRequest(command: string): void {
    if (!this.state.aio.of(this.bs).isMain) throw new ModelIoUnsupportedError(`qemu-io's ${command} on a node in an iothread (QEMU 7.2's outcome depends on timing)`);
  }

  /** `blk_check_byte_request`. */
  #check(offset: number, bytes: number): void {
    if (bytes < 0) ioFail(Errno.EIO);
    if (!isInserted(this.bs)) ioFail(Errno.ENOMEDIUM);
    if (offset < 0) ioFail(Errno.EIO);
    const len = this.length();
    if (offset > len || len - offset < bytes) ioFail(Errno.EIO);
  }

  /** `blk_pread`. */
  pread(offset: number, bytes: number): Data {
    return this.#withBuffer(bytes, () => {
      this.#waitWhileDrained("read");
      this.#check(offset, bytes);
      return bdrvPreadv(this.state, this.bs, offset, bytes);
    });
  }

  /** `blk_pwrite`. */
  pwrite(offset: number, data: Data, flags: number): void {
    this.#withBuffer(data.length, () => {
      this.#waitWhileDrained("write");
      this.#check(offset, data.length);
      bdrvPwritev(this.state, this.bs, offset, data, flags);
    });
  }

  /** `blk_co_pwrite_zeroes`. */
  pwriteZeroes(offset: number, bytes: number, flags: number): void {
    // No buffer of qemu-io's, but a driver without write_zeroes gets a bounce buffer of zeros up to
    // this size (bdrv_co_do_pwrite_zeroes): counted as if it always did.
    this.#withBuffer(bytes, () => {
      this.#waitWhileDrained("write");
      this.#check(offset, bytes);
      blkPwriteZeroes(this.state, this.bs, offset, bytes, flags);
    });
  }

  /** `blk_pwrite_compressed`. */
  pwriteCompressed(offset: number, data: Data): void {
    this.#withBuffer(data.length, () => {
      this.#waitWhileDrained("write");
      this.#check(offset, data.length);
      bdrvPwritev(this.state, this.bs, offset, data, BDRV_REQ_WRITE_COMPRESSED);
    });
  }

  /** `blk_pdiscard`. */
  pdiscard(offset: number, bytes: number): void {
    this.#waitWhileDrained("discard");
    this.#check(offset, bytes);
    bdrvPdiscard(this.state, this.bs, offset, bytes);
  }

  /** `blk_load_vmstate`. */
  loadVmstate(pos: number, bytes: number): Data {
    return this.#withBuffer(bytes, () => bdrvLoadVmstate(this.state, this.bs, pos, bytes));
  }

  /** `blk_save_vmstate`: qemu-io's BlockBackend is writethrough, so a save that succeeds is flushed. */
  saveVmstate(pos: number, data: Data): void {
    this.#withBuffer(data.length, () => {
      bdrvSaveVmstate(this.state, this.bs, pos, data);
      bdrvFlush(this.state, this.bs);
    });
  }

  /**
   * A request with qemu-io's buffer (qemu_io_alloc: blk_blockalign), freed when it ends, however it
   * ends: a large one is mmapped, and its free raises malloc's threshold (data/malloc-heap.ts).
   */
  #withBuffer<T>(bytes: number, request: () => T): T {
    try {
      return request();
    } finally {
      this.state.heap.blockalignAndFree(bytes);
    }
  }

  /** `blk_flush`. */
  flush(): void {
    this.#waitWhileDrained("flush");
    if (!isInserted(this.bs)) ioFail(Errno.ENOMEDIUM);
    bdrvFlush(this.state, this.bs);
  }

  /** The data of a read as qemu-io's buffer ends up holding it (it fills the buffer with 0xab first). */
  static asRead(data: Data): Data {
    return data.resolveUntouched(0xab);
  }
}
