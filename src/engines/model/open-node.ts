/**
 * `bdrv_open_inherit` for blockdev-add: option inheritance, the `file` child opened before the node
 * is named, name assignment, the driver's open (children attached one by one, each refreshing
 * permissions), then the backing file — explicit, or the one the image header names.
 * Every change is recorded in the caller's Transaction, so a failure leaves nothing behind.
 */
import { resolve } from "node:path";
import { fullBackingFilename, pathHasProtocol } from "./backing-filename.js";
import { FilenameCache } from "./query/filename.js";
import { attachRoot, blkNew, blkUnrefDrains, type PendingBackend } from "./block-backend.js";
import { findDriver, probeDriver } from "./drivers/index.js";
import type { DriverDef, OpenContext } from "./drivers/driver.js";
import { type BdsNode, type Child, childNamed, type Flat, setFuaSupport } from "./graph.js";
import { attachEdge, relaxPerms, registerNode, removeEdge, unreferenced } from "./graph-ops.js";
import type { LayerState } from "./layer-state.js";
import type { AioContext } from "./aio-context/aio-contexts.js";
import { matchContextsForAttach } from "./aio-context/attach-child-context.js";
import { moveToMainAfterDetach } from "./aio-context/change-aio-context.js";
import { unlockedWaitAbort, unlockNotOwned, waitForNodeCoroutine } from "./aio-context/main-thread-wait.js";
import { freedContextUse } from "./aio-context/iothread-objects.js";
import { QemuAbort } from "./qemu-would-crash.js";
import { ModelUnsupportedError } from "./model-unsupported.js";
import { ImageReadError } from "./images/image-errors.js";
import { readImage } from "./images/read-image.js";
import { nodeLength } from "./node-length.js";
import { assignNodeName } from "./node-names.js";
import { checkDetectZeroes, extractChildOptions, extractSub, flatten, hasSub, inheritChildOptions, optBool, qdictClone, setDefault } from "./options.js";
import { refreshPerms } from "./perm-refresh.js";
import { BLK_PERM_ALL } from "./perms.js";
import { fail, QmpFailure } from "./qmp-failure.js";
import { qdictKeyOrder } from "../../qapi/qdict-order.js";
import { isDriver } from "../../qapi/blockdev-schema.js";
import { refreshLimits } from "./refresh-limits.js";
import { BDRV_CHILD_COW, BDRV_CHILD_IMAGE } from "./roles.js";
import { BLOCK_PROBE_BUF_SIZE } from "./data/request-flags.js";
import { runStep, type Transaction } from "./transaction.js";


/** One node to open. */
export interface OpenRequest {
  /** The node's own (explicit) flattened options, children's options and references included. */
  options: Flat;
  /** The parent creating this node inline (inherits_from), or null for a root or a reference. */
  parent: BdsNode | null;
  /** The parent's effective options, to inherit from. */
  parentOptions: Flat | null;
  role: number;
  /**
   * The file name bdrv_open_inherit is given (a backing file named by an image header): a protocol
   * node parses it into its options, a format node opens its `file` child from it.
   */
  filename?: string;
  /**
   * Open flags the caller passes (bdrv_open's `flags`), as `update_options_from_flags` turns them
   * into options the node's own do not set (read-only, auto-read-only, cache.*), and BDRV_O_UNMAP.
   * They are not explicit options.
   */
  flags?: { options: Flat; unmap: boolean };
  /** The driver in `options` is find_image_format's verdict (bs->probed). */
  probed?: boolean;
}

/**
 * A node's open flags as a `bdrv_open` of another node from inside QEMU passes them on
 * (`bs->open_flags`, as blockdev-snapshot-sync and drive-backup do): its cache and auto-read-only
 * flags and BDRV_O_UNMAP, with read-only as the caller says.
 */
export function openFlagsOf(bs: BdsNode, readOnly: boolean): NonNullable<OpenRequest["flags"]> {
  return {
    options: {
      "cache.direct": optBool(bs.options["cache.direct"]),
      "cache.no-flush": optBool(bs.options["cache.no-flush"]),
      "read-only": readOnly,
      "auto-read-only": optBool(bs.options["auto-read-only"]),
    },
    unmap: bs.unmap,
  };
}

export class NodeOpener {
  constructor(
    private readonly state: LayerState,
    private readonly tran: Transaction,
    /**
     * The context whose lock the opener's caller holds (TryChangeOptions): none of an iothread's for
     * blockdev-add; block-stream holds its node's while it opens the copy-on-read filter over it.
     */
    private readonly held: AioContext | undefined = undefined,
  ) {}

  /** `bdrv_lookup_bs(ref, ref)` as used for child references. */
  lookupReference(ref: string): BdsNode {
    const node = this.state.nodes.get(ref);
    if (!node) fail(`Cannot find device='${ref}' nor node-name='${ref}'`);
    return node;
  }

  /** Open one node (and its inline children); returns it named, attached below nothing yet. */
  open(req: OpenRequest): BdsNode {
    const explicit = qdictClone(req.options);
    const options: Flat = { ...req.options };
    if (req.parentOptions) inheritChildOptions(options, req.parentOptions, req.role);
    for (const [key, value] of Object.entries(req.flags?.options ?? {})) setDefault(options, key, value);
    // bdrv_fill_options: a child of a format node opened from a file name alone is a protocol node
    // (bdrv_inherited_options sets BDRV_O_PROTOCOL for all but COW children) and gets its driver
    // from the name (bdrv_find_protocol; the model knows plain paths, `file`, and the null protocols).
    if (options["driver"] === undefined && req.filename !== undefined && (req.role & BDRV_CHILD_COW) === 0) options["driver"] = protocolDriver(req.filename);
    const driverName = String(options["driver"]);
    const driver = findDriver(driverName);
    if (!driver) {
      // bdrv_fill_options: no driver by that name (one only an image header can name: a backing
      // format cut to 15 bytes); a driver QEMU has and the model does not is the model's limit.
      if (!isDriver(driverName)) fail(`Unknown driver '${driverName}'`);
      throw new ModelUnsupportedError(`the driver '${driverName}'`);
    }
    if (driver.protocol && req.filename !== undefined) fillFilename(driver, options, req.filename);
    const node = this.blankNode(driver, options, explicit, req.parent);
    if (req.probed) node.probed = true;
    if (req.flags?.unmap && options["discard"] === undefined) node.unmap = true;
    try {
      return this.openBlank(node, driver, req, options, explicit);
    } catch (e) {
      if (e instanceof QmpFailure) this.closeFailed(node);
      throw e;
    }
  }

  /** The part of `open` after bdrv_new: what fails here makes bdrv_open_inherit close the node. */
  private openBlank(node: BdsNode, driver: DriverDef, req: OpenRequest, options: Flat, explicit: Flat): BdsNode {
    const preOpened = new Map<string, BdsNode>();
    if (!driver.protocol) {
      // The file child is opened (for format probing) before this node gets its name.
      const file = this.resolveChild(node, options, "file", BDRV_CHILD_IMAGE, req.filename);
      if (file) {
        preOpened.set("file", file);
        options["file"] = file.name;
      }
    }
    const probed = preOpened.get("file");
    const probe = probed ? this.attachProbe(probed) : null;
    try {
      if (node.forceShare && !node.readOnly) fail("force-share=on can only be used with read-only images");
      checkDetectZeroes(options, node.unmap);
      const requested = options["node-name"];
      node.name = assignNodeName(this.state, typeof requested === "string" ? requested : undefined);
      node.autoNamed = typeof requested !== "string";
      registerNode(this.state, node, this.tran);

      this.openDriverOf(driver, this.context(node, options, preOpened));
      setFuaSupport(node);
      refreshLimits(node);
      // bdrv_open_driver → refresh_total_sectors.
      if (driver.getLength) nodeLength(node);
    } catch (e) {
      // Where QEMU has crashed there is nothing left to let go of.
      if (probe && e instanceof QmpFailure) this.detachProbe(probe, false);
      throw e;
    }
    if (probe) this.detachProbe(probe, true);
    // An open that fails later (a backing file, a leftover option) closes the node again.
    this.tran.add({ abort: () => driver.close?.(node, this.state) });
    if (driver.supportsBacking) this.openBacking(node, options);
    for (const c of node.children) stripChild(options, explicit, c.name);
    stripChild(options, explicit, "backing");
    checkLeftovers(node, options);
    return node;
  }

  /**
   * The probing BlockBackend of `bdrv_open_inherit`: it holds a format node's file, with no
   * permissions and sharing all, from before the node is named until its driver has opened. Its
   * attach refreshes the file's permissions, and while it is there the file has one parent more,
   * which a driver's own child permissions may depend on (copy-before-write's do): the open can
   * fail on a conflict that the graph after the open would not have.
   */
  private attachProbe(file: BdsNode): PendingBackend {
    const blk = blkNew(this.state, 0, BLK_PERM_ALL);
    this.tran.add({ abort: () => this.state.backends.delete(blk.bb) });
    attachRoot(this.state, blk, file, this.tran);
    // blk_new in the file's context leaves allow_aio_context_change false: while the driver opens,
    // the file cannot leave its context, so a node attached to a file in an iothread joins it there.
    this.state.aio.pin(blk.bb);
    return blk;
  }

  /**
   * `blk_unref` of the probe: two drains, which a job above the file notices (blkUnrefDrains), then
   * the edge goes, the file's permissions are refreshed with errors ignored, and the file (with the
   * node now over it) goes back to the main loop if nothing keeps it in its iothread; that move
   * releases the iothread's lock, which blockdev-add does not hold. After a failed open (bdrv_open_inherit's
   * `fail:` path releases the probe before it closes the node) the permissions are the caller's
   * transaction's to undo and refresh on what is left, but the move is not undone: bdrv_detach_child makes it either way, with
   * a failed node still attached to the file going along.
   */
  private detachProbe(blk: PendingBackend, opened: boolean): void {
    const root = blk.bb.root!;
    blkUnrefDrains(this.state, root.bs, this.held);
    removeEdge(root, this.tran);
    blk.bb.root = null;
    this.state.backends.delete(blk.bb);
    if (opened) relaxPerms(this.state, root.bs);
    moveToMainAfterDetach(this.state, root.bs, this.held ?? null);
    // The refreshes of the probe's attach and removal are committed at once in QEMU (blk_insert_bs,
    // bdrv_root_unref_child), as is the node's open. Here they belong to the blockdev-add's
    // transaction: if the add fails (here, or in a later part), the probed file and the nodes below
    // it that were there before (a named file under an inline format) keep neither the permissions
    // nor the lock bytes that a refresh gave them for parents now gone, nor those a refresh took
    // away for parents already gone (a node a job's change of the graph left above them).
    const below = [root.bs, ...descendants(root.bs)];
    let aborted = false;
    this.tran.add({
      abort: () => {
        aborted = true;
      },
      clean: () => {
        if (aborted) for (const n of below) relaxPerms(this.state, n);
      },
    });
  }

  /**
   * `bdrv_new_open_driver_opts`: a node of `driver` that the block layer makes for itself (a job's
   * filter). Unlike blockdev-add the name comes first, then the driver opens (children by
   * reference); the open flags become options (`update_options_from_flags`).
   */
  openDriver(req: { driver: DriverDef; nodeName: string | null; options: Flat; readOnly: boolean }): BdsNode {
    const options: Flat = { ...req.options };
    setDefault(options, "cache.direct", false);
    setDefault(options, "cache.no-flush", false);
    setDefault(options, "read-only", req.readOnly);
    setDefault(options, "auto-read-only", false);
    const node = this.blankNode(req.driver, options, { ...options }, null);
    node.name = assignNodeName(this.state, req.nodeName ?? undefined);
    node.autoNamed = req.nodeName === null;
    registerNode(this.state, node, this.tran);
    this.openDriverOf(req.driver, this.context(node, options, new Map()));
    setFuaSupport(node);
    this.tran.add({ abort: () => req.driver.close?.(node, this.state) });
    for (const c of node.children) stripChild(options, node.explicitOptions, c.name);
    return node;
  }

  /** A BlockDriverState before its driver opens. */
  private blankNode(driver: DriverDef, options: Flat, explicit: Flat, parent: BdsNode | null): BdsNode {
    return {
      serial: this.state.nextSerial(),
      name: "",
      autoNamed: false,
      driver,
      options,
      explicitOptions: explicit,
      readOnly: optBool(options["read-only"]),
      forceShare: optBool(options["force-share"]),
      unmap: options["discard"] === "unmap",
      children: [],
      parents: [],
      monitorOwned: false,
      inheritsFrom: parent,
      implicit: false,
      size: 0,
      alignment: 1,
      backingFile: "",
      backingFormat: "",
      autoBackingFile: "",
      exactFilename: typeof options["filename"] === "string" ? options["filename"] : "",
      opaque: null,
      freed: false,
    };
  }

  /** The services a driver's open gets (see OpenContext). */
  private context(node: BdsNode, options: Flat, preOpened: Map<string, BdsNode>): OpenContext {
    return {
      node,
      options,
      openChild: (childName, role, allowNone) => {
        const c = this.openChild(node, options, preOpened, childName, role, allowNone);
        if (c) this.readMetadata(node, c);
        return c;
      },
      openChildFromFile: (childName, role, filename) => {
        const bs = this.open({ options: { driver: "file", filename }, parent: node, parentOptions: options, role });
        return this.readMetadata(node, this.attach(node, bs, childName, role));
      },
      openChildWithFilename: (childName, role, filename) => {
        const bs = this.resolveChild(node, options, childName, role, filename)!;
        return this.readMetadata(node, this.attach(node, bs, childName, role));
      },
      setChildRole: (child, role) => {
        const old = child.role;
        child.role = role;
        this.tran.add({
          abort: () => {
            child.role = old;
          },
        });
        refreshPerms(this.state, [node], this.tran);
      },
      resolvePath: (filename) => resolve(this.state.workdir, filename),
      workdir: this.state.workdir,
      host: this.state,
    };
  }

  /**
   * `bdrv_open_child_bs`: a child given by reference, by inline options, or (the `file` child of a
   * node opened from a file name) by that name; null if none is given.
   */
  private resolveChild(parent: BdsNode, options: Flat, name: string, role: number, filename?: string): BdsNode | null {
    const ref = options[name];
    const inline = hasSub(options, `${name}.`);
    if (typeof ref === "string") {
      // bdrv_open_inherit: an existing node is taken as it is, with no options or file name of its own.
      if (filename !== undefined || inline) fail("Cannot reference an existing block device with additional options or a new filename");
      return this.lookupReference(ref);
    }
    if (!inline && filename === undefined) return null;
    const sub = inline ? extractChildOptions(options, `${name}.`) : {};
    return this.open({ options: sub, parent, parentOptions: options, role, ...(filename !== undefined ? { filename } : {}) });
  }

  /** `bdrv_open_child` + `bdrv_attach_child`: the refresh starts from the parent. */
  private openChild(
    parent: BdsNode,
    options: Flat,
    preOpened: Map<string, BdsNode>,
    name: string,
    role: number,
    allowNone: boolean,
  ): Child | null {
    const bs = preOpened.get(name) ?? this.resolveChild(parent, options, name, role);
    if (!bs) {
      if (allowNone) return null;
      fail(`A block device must be specified for "${name}"`);
    }
    return this.attach(parent, bs, name, role);
  }

  /**
   * Attach `bs` below `parent` and refresh permissions from the parent, in bdrv_attach_child's own
   * transaction: a failure undoes the step's context moves before anything else happens, and
   * bdrv_attach_child's bdrv_unref closes a child that nothing else holds (one opened inline).
   */
  attach(parent: BdsNode, bs: BdsNode, name: string, role: number): Child {
    let committed = false;
    try {
      const c = runStep(this.tran, (step) => {
        // bdrv_attach_child_common: parent and child must share an AioContext.
        matchContextsForAttach(this.state, { kind: "node", node: parent }, bs, step, this.held, () => committed);
        const c = attachEdge({ kind: "node", node: parent }, bs, name, role, step, { perm: 0, shared: BLK_PERM_ALL });
        refreshPerms(this.state, [parent], step);
        return c;
      });
      committed = true;
      return c;
    } catch (e) {
      if (e instanceof QmpFailure && unreferenced(bs)) this.closeFailed(bs);
      throw e;
    }
  }

  /**
   * A format driver reads its header from its image file as soon as it has attached it
   * (qcow2_do_open, vmdk_open, block_crypto_open_generic …: bdrv_pread, or a coroutine the driver
   * polls for), and the main thread waits for that read with BDRV_POLL_WHILE in the node's context.
   * (A child with metadata only, blklogwrites' log, is read only with log-append: not followed.)
   * The attach may have moved the node into an iothread (its child is pinned there): if the caller
   * does not hold that context, a read that waits for its answer (from the thread pool, a socket; not
   * zeros of a cluster nothing allocated) has the wait release a lock the main thread never took,
   * and QEMU dies before the header is even looked at. So from here until the driver's open returns,
   * such a request ends the run (block-io.ts, see DriverHost.waitWithoutLock).
   */
  private readMetadata(node: BdsNode, child: Child): Child {
    if ((child.role & BDRV_CHILD_IMAGE) !== BDRV_CHILD_IMAGE) return child;
    if (waitForNodeCoroutine(this.state, node, this.held ?? null, "the header read") === "race") {
      const ctx = this.state.aio.of(node);
      this.state.waitWithoutLock ??= () => unlockedWaitAbort(ctx);
    }
    return child;
  }

  /** `drv->bdrv_open`: a wait without the lock that its reads armed ends with it (readMetadata). */
  private openDriverOf(driver: DriverDef, ctx: OpenContext): void {
    const outer = this.state.waitWithoutLock;
    this.state.waitWithoutLock = null;
    try {
      driver.open(ctx);
    } finally {
      this.state.waitWithoutLock = outer;
    }
  }

  /**
   * `bdrv_unref` of a node whose open failed: bdrv_close drains and flushes it where it runs now.
   * A node that moved into an iothread (to join a child pinned there) is flushed there, and the main
   * thread waits for that without holding the iothread's lock unless its caller does: it releases
   * a lock it does not own and QEMU aborts. That is a race the iothread wins only by finishing the
   * flush before the main thread first looks: qemu-storage-daemon 7.2.22 aborted in 13 runs of 13
   * over an idle iothread (18 of 20 with poll-max-ns=0), and in 6 of 12 where the iothread had just
   * run other work and was still polling. The model takes it as an abort, QEMU's usual end. A
   * node that moved into the context of a deleted iothread (over a child an export pins there)
   * schedules its flush in freed memory: qemu-storage-daemon 7.2.22 segfaulted in 10 runs of 10,
   * qemu-system in 4 of 5 (it met an assertion in the other).
   */
  private closeFailed(node: BdsNode): void {
    const ctx = this.state.aio.of(node);
    if (ctx.destroyed) throw freedContextUse(ctx, new QemuAbort("SIGSEGV", `bdrv_close's flush of '${node.name}' is scheduled in the AioContext of deleted iothread '${ctx.name}', which QEMU 7.2 freed`));
    if (waitForNodeCoroutine(this.state, node, this.held ?? null, "bdrv_close's flush") === "race") throw unlockNotOwned();
  }

  /**
   * `bdrv_open_backing_file(bs, NULL, "backing")` on a node opened without its backing chain: what
   * its header names (a drive-mirror target with mode=existing, when its job ends).
   */
  openBackingFromHeader(node: BdsNode): void {
    if (childNamed(node, "backing")) return;
    if (node.backingFile !== "" && !node.driver.supportsBacking) fail("Driver doesn't support backing files");
    this.openBacking(node, {});
  }

  /** `find_image_format` on a file opened by name without a driver: the probe's verdict. */
  probedFormat(filename: string): string {
    // A file that cannot be read fails in the protocol's open, which bdrv_open_inherit does
    // before it probes: under any format the same error, which raw lets the open give.
    return this.probeFormat(filename) ?? "raw";
  }

  /**
   * `bdrv_open_backing_file`: a reference; or inline options (`backing.*`), opened from the file the
   * image header names unless they give `file.filename`; or the header's file alone. The header's
   * format fills in a driver the options leave out.
   */
  private openBacking(node: BdsNode, options: Flat): void {
    const value = options["backing"];
    if (value === null) return;
    const reference = typeof value === "string" ? value : undefined;
    const sub = hasSub(options, "backing.") ? extractChildOptions(options, "backing.") : {};
    const implicit = reference === undefined && Object.keys(sub).length === 0;
    let filename: string | undefined;
    if (reference === undefined && !("file.filename" in sub)) {
      if (node.backingFile === "" && implicit) return;
      // The header's name is made absolute before anything is opened; failing that is not an open
      // error. No name in the header gives none (bdrv_make_absolute_filename of "" is NULL).
      if (node.backingFile !== "") filename = fullBackingFilename(node, node.backingFile);
      // bdrv_fill_options would find another protocol by its prefix. A null protocol's node is
      // opened under the header's format (probing it is not modelled).
      const nullProtocol = filename !== undefined && NULL_PROTOCOL.test(filename) && node.backingFormat !== "";
      if (filename !== undefined && pathHasProtocol(filename) && !/^(file|json):/.test(filename) && !nullProtocol) {
        throw new ModelUnsupportedError(`a backing file name with the prefix '${filename.slice(0, filename.indexOf(":") + 1)}'`);
      }
    }
    if (reference === undefined && node.backingFormat !== "" && sub["driver"] === undefined) sub["driver"] = node.backingFormat;
    let backing: BdsNode;
    try {
      if (reference !== undefined) {
        backing = this.lookupReference(reference);
      } else {
        if (filename?.startsWith("json:")) {
          // bdrv_open_inherit parses the name into options, which yield to those given.
          for (const [key, v] of Object.entries(parseJsonFilename(filename))) setDefault(sub, key, v);
          filename = undefined;
          if (sub["driver"] === undefined) throw new ModelUnsupportedError("a json: backing file name without a driver");
        }
        const probed = sub["driver"] === undefined && filename !== undefined;
        if (probed) sub["driver"] = this.probedFormat(filename!);
        backing = this.open({ options: sub, parent: node, parentOptions: options, role: BDRV_CHILD_COW, ...(filename !== undefined ? { filename } : {}), probed });
      }
    } catch (e) {
      if (e instanceof QmpFailure) fail(`Could not open backing file: ${e.body.desc}`);
      throw e;
    }
    // bdrv_open_backing_file takes the implicit backing node's refreshed name (a `file:` prefix in
    // the header is not part of it).
    if (implicit && (filename !== undefined || node.backingFile.startsWith("json:"))) node.autoBackingFile = new FilenameCache().filename(backing);
    this.attach(node, backing, "backing", BDRV_CHILD_COW);
  }

  /**
   * `find_image_format` on a file opened by name (a header without a backing format): an empty file
   * is raw; otherwise its first 512 bytes go to every driver's probe. Null when the file cannot be
   * read.
   */
  private probeFormat(filename: string): string | null {
    const absPath = resolve(this.state.workdir, filename);
    try {
      readImage(absPath, this.state.hostFiles);
    } catch (e) {
      if (e instanceof ImageReadError) return null;
      throw e;
    }
    try {
      const file = this.state.hostFiles.get(absPath);
      if (file.length === 0) return "raw";
      return probeDriver(file.read(0, BLOCK_PROBE_BUF_SIZE).toBuffer(), filename)?.name ?? "raw";
    } catch {
      return "raw";
    }
  }
}

/** `parse_json_filename`: the object after "json:", flattened. */
function parseJsonFilename(filename: string): Flat {
  let parsed: unknown;
  try {
    parsed = JSON.parse(filename.slice("json:".length));
  } catch {
    throw new ModelUnsupportedError("a json: backing file name that does not parse");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) fail("Invalid JSON object given");
  return flatten(parsed as Record<string, unknown>);
}

/**
 * `bdrv_fill_options` for a protocol node given a file name: the name goes into its options (it
 * cannot also have one there) and the driver parses it.
 */
/** A file name with the prefix of a null protocol (`null-co://`). */
const NULL_PROTOCOL = /^null-(co|aio):/;

/** `bdrv_find_protocol` for a file name the model opens: a null protocol by its prefix, else `file`. */
function protocolDriver(filename: string): string {
  const m = NULL_PROTOCOL.exec(filename);
  return m ? `null-${m[1]}` : "file";
}

function fillFilename(driver: DriverDef, options: Flat, filename: string): void {
  if (options["filename"] !== undefined) fail("Can't specify 'file' and 'filename' options at the same time");
  if (!driver.parseFilename) throw new ModelUnsupportedError(`opening driver '${driver.name}' from a file name`);
  options["filename"] = filename;
  driver.parseFilename(filename, options);
}

/** bdrv_open_inherit drops children's options and references from bs->options. */
function stripChild(options: Flat, explicit: Flat, name: string): void {
  delete options[name];
  delete explicit[name];
  extractSub(options, `${name}.`);
  extractSub(explicit, `${name}.`);
}

/**
 * bdrv_open_inherit's final check: options nobody consumed. After QAPI validation only empty lists
 * and dicts can be left (QemuOpts and the drivers' visitors never take them).
 */
function checkLeftovers(node: BdsNode, options: Flat): void {
  const left = Object.keys(options).filter((k) => {
    const v = options[k];
    return v !== null && typeof v === "object" && Object.keys(v as object).length === 0;
  });
  if (left.length === 0) return;
  const key = qdictKeyOrder(left)[0]!;
  if (node.driver.protocol) fail(`Block protocol '${node.driver.name}' doesn't support the option '${key}'`);
  fail(`Block format '${node.driver.name}' does not support the option '${key}'`);
}

/** Every node below `bs`, each once (not `bs`). */
function descendants(bs: BdsNode): BdsNode[] {
  const seen = new Set<BdsNode>();
  const stack = [bs];
  while (stack.length > 0) {
    for (const c of stack.pop()!.children) {
      if (seen.has(c.bs)) continue;
      seen.add(c.bs);
      stack.push(c.bs);
    }
  }
  return [...seen];
}
