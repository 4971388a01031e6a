/**
 * A model instance in a private scratch directory with the images the tests use, plus helpers that
 * assert a command succeeded or return its error text, and render the graph's edges readably.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { BlockLayer } from "../../../src/engines/model/block-layer.js";
import { writeImage } from "../../../src/engines/model/images/write-image.js";

interface GraphJson {
  nodes: Array<{ id: number; name: string; type: string }>;
  edges: Array<{ parent: number; child: number; name: string; perm: string[]; "shared-perm": string[] }>;
}

/** Create the standard images: raw.img (1M raw), other.img (1000 bytes), base.qcow2, top.qcow2 → base. */
export function makeImages(dir: string): void {
  writeImage(join(dir, "raw.img"), { path: "raw.img", format: "raw", size: 1 << 20 });
  writeFileSync(join(dir, "other.img"), Buffer.alloc(1000));
  writeImage(join(dir, "base.qcow2"), { path: "base.qcow2", format: "qcow2", size: 1 << 20 });
  writeImage(join(dir, "top.qcow2"), {
    path: "top.qcow2",
    format: "qcow2",
    size: 1 << 20,
    backingFile: "base.qcow2",
    backingFormat: "qcow2",
  });
}

export class Fixture {
  readonly dir: string;
  readonly model: BlockLayer;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), "blockcheck-model-"));
    makeImages(this.dir);
    this.model = new BlockLayer({ workdir: this.dir });
  }

  /** Run a command that must succeed; returns its `return` value. */
  ok(command: string, args?: Record<string, unknown>): unknown {
    const reply = this.model.execute(command, args);
    if ("error" in reply) expect.fail(`${command} failed: ${reply.error.desc}`);
    return reply.return;
  }

  /** Run a command that must fail; returns the error's desc. */
  err(command: string, args?: Record<string, unknown>): string {
    const reply = this.model.execute(command, args);
    if (!("error" in reply)) expect.fail(`${command} unexpectedly succeeded`);
    return reply.error.desc;
  }

  /** Reopen with a list of option sets; returns the error desc or "ok". */
  reopen(...options: Array<Record<string, unknown>>): string {
    const reply = this.model.execute("blockdev-reopen", { options });
    return "error" in reply ? reply.error.desc : "ok";
  }

  graph(): GraphJson {
    return this.ok("x-debug-query-block-graph") as GraphJson;
  }

  /** The auto (or given) name of the node reached from `start` through child names. */
  nodeAt(path: string): string {
    const [start, ...edges] = path.split("/");
    const g = this.graph();
    let id = g.nodes.find((n) => n.name === start)?.id;
    for (const e of edges) id = g.edges.find((x) => x.parent === id && x.name === e)?.child;
    const node = g.nodes.find((n) => n.id === id);
    if (!node) expect.fail(`no node at ${path}`);
    return node.name;
  }

  /** Edges as "parent -[name]-> child perm=… shared=…", auto names replaced by their first parent path. */
  edges(): string[] {
    const g = this.graph();
    const label = new Map<number, string>();
    for (const n of g.nodes) if (!n.name.startsWith("#") && n.type === "block-driver") label.set(n.id, n.name);
    for (const n of g.nodes) if (n.type === "block-backend") label.set(n.id, "BB");
    // Resolve auto names through their parents (edges are listed parent-first enough to settle in a few passes).
    for (let pass = 0; pass < 5; pass++) {
      for (const e of g.edges) {
        const p = label.get(e.parent);
        if (p && !label.has(e.child)) label.set(e.child, `${p}/${e.name}`);
      }
    }
    return g.edges.map(
      (e) =>
        `${label.get(e.parent)} -[${e.name}]-> ${label.get(e.child)} perm=${e.perm.join(",")} shared=${e["shared-perm"].join(",")}`,
    );
  }

  /** The edge line for one parent and child name. */
  edge(parent: string, name: string): string {
    const line = this.edges().find((l) => l.startsWith(`${parent} -[${name}]-> `));
    if (!line) expect.fail(`no edge ${parent} -[${name}]->`);
    return line.slice(line.indexOf(" perm=") + 1);
  }

  /** Named nodes as query-named-block-nodes lists them. */
  names(): string[] {
    return (this.ok("query-named-block-nodes", { flat: true }) as Array<{ "node-name": string }>).map((n) => n["node-name"]);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A writable or read-only NBD export of `node` (starting the server when needed). */
export function exportNode(f: Fixture, id: string, node: string, writable: boolean): string {
  f.model.execute("nbd-server-start", { addr: { type: "unix", data: { path: join(f.dir, "nbd.sock") } } });
  const reply = f.model.execute("block-export-add", { type: "nbd", id, "node-name": node, writable });
  return "error" in reply ? reply.error.desc : "ok";
}
