/**
 * Extent children given options of their own (`extents.0.*`, as `-drive` could give them; QAPI's
 * blockdev-add has no `extents` in 7.2 and refuses them first): vmdk_parse_extents opens each with
 * `bdrv_open_child(extent_path, options, "extents.N", …)`, so the descriptor's file name goes to the
 * child as bdrv_open_inherit passes a filename — a protocol node takes it as its `filename`, a
 * format node opens its `file` from it, and a reference cannot be combined with it. (QEMU 7.2.22
 * answers the same through a `json:` filename, which skips QAPI: `qemu-img info 'json:{"driver":
 * "vmdk", …, "extents.0": "x"}'`.)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { blockdevAdd } from "../../src/engines/model/commands/blockdev-add.js";
import { childNamed } from "../../src/engines/model/graph.js";
import { writeImage } from "../../src/engines/model/images/write-image.js";
import { LayerState } from "../../src/engines/model/layer-state.js";
import { QmpFailure } from "../../src/engines/model/qmp-failure.js";

describe("vmdk extents opened with the user's options", () => {
  let dir: string;
  let state: LayerState;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "blockcheck-vmdk-"));
    state = new LayerState(dir);
    writeImage(join(dir, "flat.vmdk"), { path: "flat.vmdk", format: "vmdk", size: 1 << 20, createOptions: [["subformat", "monolithicFlat"]] }, state.hostFiles);
    blockdevAdd(state, { driver: "file", "node-name": "other", filename: join(dir, "flat-flat.vmdk"), "read-only": true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const add = (extra: Record<string, unknown>): string => {
    try {
      blockdevAdd(state, { driver: "vmdk", "node-name": "v", file: { driver: "file", filename: join(dir, "flat.vmdk") }, ...extra });
      return "ok";
    } catch (e) {
      if (e instanceof QmpFailure) return e.body.desc;
      throw e;
    }
  };
  const extent = () => childNamed(state.nodes.get("v")!, "extents.0")!.bs;

  it("refuses a reference: it would come with the descriptor's file name", () => {
    expect(add({ "extents.0": "other" })).toBe("Cannot reference an existing block device with additional options or a new filename");
    expect(state.nodes.has("v")).toBe(false);
  });

  it("refuses a protocol node's own filename next to the descriptor's", () => {
    expect(add({ "extents.0.driver": "file", "extents.0.filename": join(dir, "flat-flat.vmdk") })).toBe("Can't specify 'file' and 'filename' options at the same time");
  });

  it("opens a protocol node on the descriptor's name with the other options", () => {
    expect(add({ "extents.0.node-name": "e0", "extents.0.read-only": true })).toBe("ok");
    expect(extent().name).toBe("e0");
    expect(extent().driver.name).toBe("file");
    expect(extent().readOnly).toBe(true);
    expect(extent().options["filename"]).toBe(join(dir, "flat-flat.vmdk"));
  });

  it("gives a format node's file child the descriptor's name", () => {
    expect(add({ "extents.0.driver": "raw", "extents.0.node-name": "r0" })).toBe("ok");
    expect(extent().name).toBe("r0");
    const file = childNamed(extent(), "file")!.bs;
    expect(file.driver.name).toBe("file");
    expect(file.options["filename"]).toBe(join(dir, "flat-flat.vmdk"));
  });
});
