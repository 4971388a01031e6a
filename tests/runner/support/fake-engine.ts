/**
 * A tiny in-memory Engine for runner tests: enough of blockdev-add/del/reopen, exports and the two
 * graph queries to drive every step kind, with fixed permissions. It is not a model of QEMU — the
 * real model engine and QEMU are tested elsewhere; this only lets the runner be tested alone.
 */
import type { Engine, EngineInfo, EngineKind, EngineStartOptions, EngineStopOutcome, ImageSpec, QmpEvent, QmpReply, WaitEventOptions } from "../../../src/engines/engine.js";
import { eventMatches } from "../../../src/qmp/event-match.js";

interface FakeNode {
  name: string;
  driver: string;
  ro: boolean;
  children: Array<{ role: string; child: string }>;
  filename?: string;
}

export class FakeEngine implements Engine {
  readonly kind: EngineKind;
  readonly nodes = new Map<string, FakeNode>();
  readonly exports = new Map<string, string>();
  readonly sent: Array<{ command: string; args?: Record<string, unknown> }> = [];
  readonly images: ImageSpec[] = [];
  private events: QmpEvent[] = [];
  private counter = 0;
  started = false;
  stopped = 0;
  /** Replies to force for a command (consumed in order). */
  readonly scripted = new Map<string, QmpReply[]>();
  /** What stop() reports. */
  stopOutcome: EngineStopOutcome = { kind: "clean" };

  constructor(kind: EngineKind = "model", private readonly opts: { io?: boolean; hang?: boolean } = {}) {
    this.kind = kind;
  }

  describe(): EngineInfo {
    return {
      kind: this.kind,
      version: { major: 7, minor: 2, micro: 22 },
      drivers: ["file", "qcow2", "raw", "null-co"],
      features: new Set(this.opts.io ? ["io"] : []),
      greeting: {},
    };
  }

  /** What start() was given. */
  startOptions: EngineStartOptions | undefined;

  async start(opts: EngineStartOptions): Promise<void> {
    this.started = true;
    this.startOptions = opts;
  }

  async createImage(spec: ImageSpec): Promise<void> {
    this.images.push(spec);
  }

  async qmp(command: string, args?: Record<string, unknown>): Promise<QmpReply> {
    this.sent.push(args === undefined ? { command } : { command, args: structuredClone(args) });
    if (this.opts.hang) return new Promise(() => {});
    const scripted = this.scripted.get(command)?.shift();
    if (scripted) return scripted;
    const handler = (this as unknown as Record<string, (a: Record<string, unknown>) => QmpReply>)[`cmd_${command.replace(/-/g, "_")}`];
    if (!handler) return err(`The command ${command} has not been found`);
    return handler.call(this, args ?? {});
  }

  takeEvents(): QmpEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  async waitEvent(name: string, opts: WaitEventOptions): Promise<QmpEvent> {
    const i = this.events.findIndex((e) => eventMatches(e, name, opts.match));
    if (i < 0) throw new Error(`no ${name}`);
    return this.events.splice(i, 1)[0]!;
  }

  async io(node: string, command: string): Promise<string> {
    return `${command} on ${node}\nwrote 65536/65536 bytes at offset 0\n64 KiB, 1 ops; 00.00 sec (12.5 MiB/sec and 200.1 ops/sec)\n`;
  }

  async stop(): Promise<EngineStopOutcome> {
    this.stopped++;
    return this.stopOutcome;
  }

  private open(opts: Record<string, unknown>, root: boolean): string | QmpReply {
    const name = (opts["node-name"] as string | undefined) ?? (root ? undefined : `#block${100 + this.counter++ * 7}`);
    if (!name) return err("'node-name' must be specified for the root node");
    if (this.nodes.has(name)) return err(`Duplicate nodes with node-name='${name}'`);
    const node: FakeNode = { name, driver: String(opts.driver), ro: opts["read-only"] === true, children: [] };
    if (typeof opts.filename === "string") node.filename = opts.filename;
    for (const role of ["file", "backing", "image"]) {
      const v = opts[role];
      if (typeof v === "string") {
        if (!this.nodes.has(v)) return err(`Cannot find device='${v}' nor node-name='${v}'`);
        node.children.push({ role, child: v });
      } else if (v && typeof v === "object") {
        const c = this.open(v as Record<string, unknown>, false);
        if (typeof c !== "string") return c;
        node.children.push({ role, child: c });
      }
    }
    this.nodes.set(name, node);
    return name;
  }

  cmd_blockdev_add(a: Record<string, unknown>): QmpReply {
    const r = this.open(a, true);
    return typeof r === "string" ? { return: {} } : r;
  }

  cmd_blockdev_del(a: Record<string, unknown>): QmpReply {
    const name = a["node-name"] as string;
    if (!this.nodes.has(name)) return err(`Failed to find node with node-name='${name}'`);
    if ([...this.nodes.values()].some((n) => n.children.some((c) => c.child === name))) return err(`Block device ${name} is in use`);
    const drop = (n: string) => {
      const node = this.nodes.get(n)!;
      this.nodes.delete(n);
      for (const c of node.children) if (c.child.startsWith("#")) drop(c.child);
    };
    drop(name);
    return { return: {} };
  }

  cmd_blockdev_reopen(a: Record<string, unknown>): QmpReply {
    for (const o of a.options as Record<string, unknown>[]) {
      const node = this.nodes.get(o["node-name"] as string);
      if (!node) return err(`Failed to find node with node-name='${String(o["node-name"])}'`);
      if (o.backing === null) node.children = node.children.filter((c) => c.role !== "backing");
      node.ro = o["read-only"] === true;
    }
    return { return: {} };
  }

  cmd_nbd_server_start(): QmpReply {
    return { return: {} };
  }

  cmd_block_export_add(a: Record<string, unknown>): QmpReply {
    this.exports.set(a.id as string, a["node-name"] as string);
    return { return: {} };
  }

  cmd_block_export_del(a: Record<string, unknown>): QmpReply {
    if (!this.exports.delete(a.id as string)) return err(`Export '${String(a.id)}' is not found`);
    this.events.push({ event: "BLOCK_EXPORT_DELETED", data: { id: a.id } });
    return { return: {} };
  }

  cmd_query_named_block_nodes(): QmpReply {
    return {
      return: [...this.nodes.values()].map((n) => ({ "node-name": n.name, drv: n.driver, ro: n.ro, file: n.filename ?? "" })),
    };
  }

  cmd_x_debug_query_block_graph(): QmpReply {
    const ids = new Map<string, number>();
    let id = 1;
    const nodes: unknown[] = [];
    const edges: unknown[] = [];
    for (const [exp, node] of this.exports) {
      const bb = id++;
      nodes.push({ id: bb, type: "block-backend", name: "" });
      edges.push({ parent: bb, child: -1, childName: node, name: "root", perm: ["consistent-read"], "shared-perm": ["write", "consistent-read"], exp });
    }
    for (const n of this.nodes.values()) {
      ids.set(n.name, id);
      nodes.push({ id: id++, type: "block-driver", name: n.name });
    }
    for (const n of this.nodes.values()) {
      for (const c of n.children) {
        edges.push({ parent: ids.get(n.name), child: ids.get(c.child), name: c.role, perm: ["consistent-read"], "shared-perm": ["resize", "consistent-read"] });
      }
    }
    for (const e of edges as Array<Record<string, unknown>>) {
      if (e.child === -1) e.child = ids.get(e.childName as string);
      delete e.childName;
      delete e.exp;
    }
    return { return: { nodes, edges } };
  }
}

function err(desc: string): QmpReply {
  return { error: { class: "GenericError", desc } };
}
