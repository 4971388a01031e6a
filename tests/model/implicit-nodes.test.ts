/**
 * bs->implicit means an implicit job filter, and the generic code treats such a node as QEMU does:
 * a reopen naming the node below it keeps it, replacing it is refused, and its filename is its
 * child's. No command makes one yet (the job filters come later), so the tests mark a filter by hand.
 * Nodes opened inline or from an image header are not implicit.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bdrvDirname } from "../../src/engines/model/backing-filename.js";
import { blockdevAdd } from "../../src/engines/model/commands/blockdev-add.js";
import { blockdevReopen } from "../../src/engines/model/commands/blockdev-reopen.js";
import { LayerState } from "../../src/engines/model/layer-state.js";
import { QmpFailure } from "../../src/engines/model/qmp-failure.js";
import { namedBlockNodes } from "../../src/engines/model/query/named-nodes.js";
import { makeImages } from "./support/fixture.js";

describe("implicit filter nodes", () => {
  let dir: string;
  let state: LayerState;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "blockcheck-implicit-"));
    makeImages(dir);
    state = new LayerState(dir);
    blockdevAdd(state, { driver: "qcow2", "node-name": "b", file: { driver: "file", filename: "base.qcow2" } });
    blockdevAdd(state, { driver: "copy-on-read", "node-name": "c", file: "b" });
    blockdevAdd(state, { driver: "qcow2", "node-name": "t", file: { driver: "file", filename: "top.qcow2", "node-name": "tf" }, backing: "c" });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const reopenError = (options: Record<string, unknown>): string => {
    try {
      blockdevReopen(state, { options: [options] });
      return "ok";
    } catch (e) {
      if (e instanceof QmpFailure) return e.message;
      throw e;
    }
  };
  const files = (): Record<string, unknown> =>
    Object.fromEntries((namedBlockNodes(state, true) as Array<{ "node-name": string; file: string }>).map((n) => [n["node-name"], n.file]));

  it("nodes opened inline or from a header are not implicit", () => {
    // A fresh model: b holds base.qcow2 writable, and top.qcow2's header names it as backing.
    const fresh = new LayerState(dir);
    blockdevAdd(fresh, { driver: "qcow2", "node-name": "h", file: { driver: "file", filename: "top.qcow2" } });
    expect(fresh.nodes.size).toBe(4);
    expect([...fresh.nodes.values()].filter((n) => n.implicit)).toEqual([]);
  });

  it("naming the node below an implicit filter keeps the filter; replacing it is refused", () => {
    state.nodes.get("c")!.implicit = true;
    expect(reopenError({ driver: "qcow2", "node-name": "t", file: "tf", backing: "b" })).toBe("ok");
    expect(state.nodes.get("t")!.children.map((c) => `${c.name}=${c.bs.name}`)).toEqual(["file=tf", "backing=c"]);
    expect(reopenError({ driver: "qcow2", "node-name": "t", file: "tf", backing: null })).toBe("Cannot replace implicit backing child of t");
  });

  it("an explicit filter in the same place is replaced", () => {
    expect(reopenError({ driver: "qcow2", "node-name": "t", file: "tf", backing: "b" })).toBe("ok");
    expect(state.nodes.get("t")!.children.map((c) => `${c.name}=${c.bs.name}`)).toEqual(["file=tf", "backing=b"]);
  });

  it("an implicit filter's filename is its child's", () => {
    expect(files()["c"]).toMatch(/^json:/);
    state.nodes.get("c")!.implicit = true;
    expect(files()["c"]).toBe(files()["b"]);
  });
});

describe("bdrv_dirname", () => {
  let dir: string;
  let state: LayerState;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "blockcheck-dirname-"));
    makeImages(dir);
    state = new LayerState(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("goes down the primary children to a protocol node's directory", () => {
    // open(2) walks `sub/..` as written: the directory must be there.
    mkdirSync(join(dir, "sub"));
    blockdevAdd(state, { driver: "raw", "node-name": "r", file: { driver: "blkdebug", image: { driver: "file", filename: "sub/../raw.img" } } });
    expect(bdrvDirname(state.nodes.get("r")!)).toBe("sub/../");
  });

  it("is an error, not a guess, where the bottom node has no exact filename", () => {
    blockdevAdd(state, { driver: "null-co", "node-name": "plain" });
    blockdevAdd(state, { driver: "raw", "node-name": "r", file: { driver: "null-co", size: 1024 } });
    expect(bdrvDirname(state.nodes.get("plain")!)).toBe("null-co://");
    expect(() => bdrvDirname(state.nodes.get("r")!)).toThrow("Cannot generate a base directory for null-co nodes");
  });
});
