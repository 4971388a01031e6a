/**
 * `bdrv_open_inherit` for blockdev-add: option inheritance, the `file` child opened before the node
 * is named, name assignment, the driver's open (children attached one by one, each refreshing
 * permissions), then the backing file — explicit, or implicit from the image header.
 * Every change is recorded in the caller's Transaction, so a failure leaves nothing behind.
 */
import { isAbsolute, resolve } from "node:path";
import { findDriver } from "./drivers/index.js";
import type { OpenContext } from "./drivers/driver.js";
import { fileState } from "./drivers/file.js";
import { type BdsNode, type Child, type Flat, childNamed } from "./graph.js";
import { attachEdge, registerNode } from "./graph-ops.js";
import { readImage } from "./images/read-image.js";
import type { LayerState } from "./layer-state.js";
import { assignNodeName } from "./node-names.js";
import { checkDetectZeroes, extractSub, hasSub, inheritChildOptions, optBool } from "./options.js";
import { refreshPerms } from "./perm-refresh.js";
import { PERM_ALL } from "./perms.js";
import { fail, QmpFailure } from "./qmp-failure.js";
import { qdictKeyOrder } from "./qdict-order.js";
import { ROLE_COW, ROLE_IMAGE, ROLE_PRIMARY } from "./roles.js";
import type { Transaction } from "./transaction.js";

/** One node to open. */
export interface OpenRequest {
  /** The node's own (explicit) flattened options, children's options and references included. */
  options: Flat;
  /** The parent creating this node inline (inherits_from), or null for a root or a reference. */
  parent: BdsNode | null;
  /** The parent's effective options, to inherit from. */
  parentOptions: Flat | null;
  role: number;
  /** A filename to open (implicit backing files). */
  filename?: string;
}

/** `bdrv_get_full_backing_filename`: relative names are relative to the image's directory. */
export function fullBackingFilename(node: BdsNode, backing: string): string {
  return isAbsolute(backing) ? backing : nodeDirname(node) + backing;
}

/**
 * `bdrv_dirname`: asked of the primary child down to the protocol node, whose filename gives the
 * directory, so a qcow2 over blkdebug over a file finds its backing file beside that file.
 */
function nodeDirname(node: BdsNode): string {
  let n = node;
  for (let c = primaryChild(n); c; c = primaryChild(n)) n = c;
  const exact = nodeFilename(n);
  // path_combine(exact, ""): keep everything up to the last '/' (or past a "proto:" prefix).
  const slash = exact.lastIndexOf("/");
  if (slash >= 0) return exact.slice(0, slash + 1);
  const colon = exact.indexOf(":");
  return colon >= 0 ? exact.slice(0, colon + 1) : "";
}

function primaryChild(node: BdsNode): BdsNode | undefined {
  return node.children.find((c) => c.role & ROLE_PRIMARY)?.bs;
}

/** The filename QEMU shows for a node (bs->filename). */
export function nodeFilename(node: BdsNode): string {
  let n: BdsNode | undefined = node;
  while (n) {
    if (n.driver.name === "file") return fileState(n).filename;
    if (n.driver.name === "null-co") return "null-co://";
    if (n.driver.name === "blkdebug") {
      const image = childNamed(n, "image");
      return image ? `blkdebug::${nodeFilename(image.bs)}` : "";
    }
    n = childNamed(n, "file")?.bs;
  }
  return "";
}

export class NodeOpener {
  constructor(
    private readonly state: LayerState,
    private readonly tran: Transaction,
  ) {}

  /** `bdrv_lookup_bs(ref, ref)` as used for child references. */
  lookupReference(ref: string): BdsNode {
    const node = this.state.nodes.get(ref);
    if (!node) fail(`Cannot find device='${ref}' nor node-name='${ref}'`);
    return node;
  }

  /** Open one node (and its inline children); returns it named, attached below nothing yet. */
  open(req: OpenRequest): BdsNode {
    const explicit: Flat = { ...req.options };
    const options: Flat = { ...req.options };
    if (req.parentOptions) inheritChildOptions(options, req.parentOptions, req.role);
    const driverName = String(options["driver"]);
    const driver = findDriver(driverName);
    if (!driver) fail(`The model does not implement driver '${driverName}'`);
    const node: BdsNode = {
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
      inheritsFrom: req.parent,
      implicit: false,
      size: 0,
      alignment: 1,
      backingFile: "",
      autoBackingFile: "",
      state: {},
      freed: false,
    };
    const preOpened = new Map<string, BdsNode>();
    if (!driver.protocol) {
      // The file child is opened (for format probing) before this node gets its name.
      const file = req.filename
        ? this.open({ options: { driver: "file", filename: req.filename }, parent: node, parentOptions: options, role: ROLE_IMAGE })
        : this.resolveChild(node, options, "file", ROLE_IMAGE);
      if (file) {
        preOpened.set("file", file);
        options["file"] = file.name;
      }
    }
    if (node.forceShare && !node.readOnly) fail("force-share=on can only be used with read-only images");
    checkDetectZeroes(options, node.unmap);
    const name = options["node-name"];
    node.name = assignNodeName(this.state, typeof name === "string" ? name : undefined);
    node.autoNamed = typeof name !== "string";
    registerNode(this.state, node, this.tran);

    const ctx: OpenContext = {
      node,
      options,
      openChild: (childName, role, allowNone) => this.openChild(node, options, preOpened, childName, role, allowNone),
      openChildFromFile: (childName, role, filename) => {
        const bs = this.open({ options: { driver: "file", filename }, parent: node, parentOptions: options, role });
        return this.attach(node, bs, childName, role);
      },
      setChildRole: (child, role) => {
        const old = child.role;
        child.role = role;
        this.tran.addUndo(() => {
          child.role = old;
        });
        refreshPerms(this.state, [node], this.tran);
      },
      resolvePath: (filename) => resolve(this.state.workdir, filename),
      hasThrottleGroup: (id) => this.state.throttleGroups.has(id),
    };
    driver.open(ctx);
    if (driver.supportsBacking) this.openBacking(node, options);
    for (const c of node.children) stripChild(options, explicit, c.name);
    stripChild(options, explicit, "backing");
    checkLeftovers(node, options);
    return node;
  }

  /** A child given by reference or inline options, or null if neither is present. */
  private resolveChild(parent: BdsNode, options: Flat, name: string, role: number): BdsNode | null {
    const ref = options[name];
    if (typeof ref === "string") return this.lookupReference(ref);
    if (!hasSub(options, `${name}.`)) return null;
    const sub = extractSub(options, `${name}.`);
    return this.open({ options: sub, parent, parentOptions: options, role });
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

  /** Attach `bs` below `parent` and refresh permissions from the parent. */
  attach(parent: BdsNode, bs: BdsNode, name: string, role: number): Child {
    const c = attachEdge({ kind: "node", node: parent }, bs, name, role, this.tran, { perm: 0, shared: PERM_ALL });
    refreshPerms(this.state, [parent], this.tran);
    return c;
  }

  /** `bdrv_open_backing_file`. */
  private openBacking(node: BdsNode, options: Flat): void {
    const value = options["backing"];
    if (value === null) return;
    if (typeof value !== "string" && !hasSub(options, "backing.") && node.backingFile === "") return;
    let backing: BdsNode;
    try {
      if (typeof value === "string") {
        backing = this.lookupReference(value);
      } else if (hasSub(options, "backing.")) {
        const sub = extractSub(options, "backing.");
        backing = this.open({ options: sub, parent: node, parentOptions: options, role: ROLE_COW });
      } else {
        backing = this.openImplicitBacking(node, options);
        node.autoBackingFile = fullBackingFilename(node, node.backingFile);
      }
    } catch (e) {
      if (e instanceof QmpFailure) fail(`Could not open backing file: ${e.body.desc}`);
      throw e;
    }
    this.attach(node, backing, "backing", ROLE_COW);
  }

  /** The backing file named in the header: format from the header, else probed. */
  private openImplicitBacking(node: BdsNode, options: Flat): BdsNode {
    const filename = fullBackingFilename(node, node.backingFile);
    const header = (node.state as { header?: { backingFormat: string } }).header;
    let format = header?.backingFormat ?? "";
    if (format === "") {
      try {
        format = readImage(resolve(this.state.workdir, filename)).qcow2 ? "qcow2" : "raw";
      } catch {
        format = "raw";
      }
    }
    return this.open({ options: { driver: format }, parent: node, parentOptions: options, role: ROLE_COW, filename });
  }
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
