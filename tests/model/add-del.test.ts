/** blockdev-add / blockdev-del / export errors (§8.5 of the QEMU 7.2 ground truth) and auto names. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { exportNode, Fixture } from "./support/fixture.js";

describe("blockdev-add and blockdev-del", () => {
  let f: Fixture;
  beforeEach(() => {
    f = new Fixture();
    f.ok("blockdev-add", { driver: "file", "node-name": "f0", filename: "raw.img" });
  });
  afterEach(() => f.dispose());

  it("rejects bad and duplicate names in QEMU's order", () => {
    expect(f.err("blockdev-add", { driver: "file", "node-name": "f0", filename: "other.img" })).toBe("Duplicate nodes with node-name='f0'");
    expect(f.err("blockdev-add", { driver: "raw", "node-name": "r0", file: { driver: "file", filename: "other.img", "node-name": "f0" } })).toBe(
      "Duplicate nodes with node-name='f0'",
    );
    expect(f.err("blockdev-add", { driver: "file", filename: "other.img" })).toBe("'node-name' must be specified for the root node");
    for (const bad of ["1bad", "#block1", ""]) {
      expect(f.err("blockdev-add", { driver: "file", filename: "other.img", "node-name": bad })).toBe(`Invalid node-name: '${bad}'`);
    }
    f.ok("blockdev-add", { driver: "file", filename: "other.img", "node-name": "a".repeat(31) });
    expect(f.err("blockdev-add", { driver: "file", filename: "other.img", "node-name": "a".repeat(32) })).toBe("Node name too long");
  });

  it("reports missing references, files and formats", () => {
    expect(f.err("blockdev-add", { driver: "raw", "node-name": "r1", file: "nosuch" })).toBe("Cannot find device='nosuch' nor node-name='nosuch'");
    expect(f.err("blockdev-add", { driver: "raw", "node-name": "r1" })).toBe("Parameter 'file' is missing");
    expect(f.err("blockdev-add", { driver: "nosuchdrv", "node-name": "r1" })).toBe("Parameter 'driver' does not accept value 'nosuchdrv'");
    expect(f.err("blockdev-add", { driver: "file", filename: "does-not-exist.img", "node-name": "fx" })).toBe(
      "Could not open 'does-not-exist.img': No such file or directory",
    );
    expect(f.err("blockdev-add", { driver: "qcow2", "node-name": "q0", file: "f0" })).toBe("Image is not in qcow2 format");
    expect(f.err("blockdev-add", { driver: "qcow2", "node-name": "q0", file: { driver: "file", filename: "top.qcow2" }, backing: "zz" })).toBe(
      "Could not open backing file: Cannot find device='zz' nor node-name='zz'",
    );
  });

  it("blockdev-del checks users, ownership and references in order", () => {
    expect(f.err("blockdev-del", { "node-name": "nosuch" })).toBe("Failed to find node with node-name='nosuch'");
    f.ok("blockdev-add", { driver: "raw", "node-name": "r0", file: "f0" });
    expect(f.err("blockdev-del", { "node-name": "f0" })).toBe("Block device f0 is in use");
    f.ok("blockdev-add", { driver: "raw", "node-name": "r1", file: { driver: "file", filename: "other.img" } });
    const inline = f.nodeAt("r1/file");
    expect(f.err("blockdev-del", { "node-name": inline })).toBe(`Node ${inline} is not owned by the monitor`);
    f.ok("blockdev-add", { driver: "null-co", "node-name": "n0" });
    expect(exportNode(f, "e0", "n0", false)).toBe("ok");
    expect(f.err("blockdev-del", { "node-name": "n0" })).toBe("Node n0 is in use");
    // Deleting a parent frees its inline children, not referenced nodes.
    f.ok("blockdev-del", { "node-name": "r1" });
    f.ok("blockdev-del", { "node-name": "r0" });
    expect(f.names()).toEqual(["n0", "f0"]);
  });

  it("exports: ids, names, the server, and the deletion event", () => {
    expect(f.err("block-export-add", { type: "nbd", id: "e0", "node-name": "f0" })).toBe("NBD server not running");
    expect(f.graph().nodes.filter((n) => n.type === "block-backend")).toEqual([]);
    expect(exportNode(f, "e0", "f0", false)).toBe("ok");
    expect(exportNode(f, "e0", "f0", false)).toBe("Block export id 'e0' is already in use");
    expect(exportNode(f, "e1", "f0", false)).toBe("NBD server already has export named 'f0'");
    expect(exportNode(f, "1x", "f0", false)).toBe("Invalid block export id");
    expect(exportNode(f, "e2", "nosuch", false)).toBe("Cannot find device='' nor node-name='nosuch'");
    f.ok("block-export-del", { id: "e0" });
    expect(f.model.takeEvents().map((e) => [e.event, e.data])).toEqual([["BLOCK_EXPORT_DELETED", { id: "e0" }]]);
    expect(f.err("block-export-del", { id: "e0" })).toBe("Export 'e0' is not found");
    f.ok("nbd-server-stop");
    expect(f.err("nbd-server-stop")).toBe("NBD server not running");
  });

  it("auto names are #block + counter + two digits, and failed opens use the counter up", () => {
    f.ok("blockdev-add", { driver: "raw", "node-name": "r0", file: { driver: "file", filename: "other.img" } });
    f.err("blockdev-add", { driver: "raw", "node-name": "rx", file: { driver: "file", filename: "missing.img" } });
    f.ok("blockdev-add", { driver: "qcow2", "node-name": "q0", file: { driver: "file", filename: "top.qcow2" } });
    const auto = f.names().filter((n) => n.startsWith("#"));
    for (const name of auto) expect(name).toMatch(/^#block[0-9]{3,}$/);
    const counters = auto.map((n) => Number(n.slice(6, -2))).sort((a, b) => a - b);
    // r0/file = 0, the failed file = 1, then q0/file, q0/backing/file, q0/backing.
    expect(counters).toEqual([0, 2, 3, 4]);
  });

  it("a throttle node references its group from open to close, and across a reopen", () => {
    f.ok("object-add", { "qom-type": "throttle-group", id: "g1" });
    f.ok("object-add", { "qom-type": "throttle-group", id: "g2" });
    f.ok("blockdev-add", { driver: "throttle", "node-name": "t0", "throttle-group": "g1", file: { driver: "null-co", "node-name": "n0" } });
    expect(f.err("object-del", { id: "g1" })).toBe("object 'g1' is in use, can not be deleted");
    expect(f.reopen({ driver: "throttle", "node-name": "t0", "throttle-group": "g2", file: "n0" })).toBe("ok");
    expect(f.err("object-del", { id: "g2" })).toBe("object 'g2' is in use, can not be deleted");
    f.ok("object-del", { id: "g1" });
    // Opened inside an add that fails afterwards, it is closed again and lets go.
    expect(f.err("blockdev-add", { driver: "qcow2", "node-name": "q", file: { driver: "throttle", "throttle-group": "g2", file: { driver: "file", filename: "raw.img", locking: "off" } } })).toBe(
      "Image is not in qcow2 format",
    );
    f.ok("blockdev-del", { "node-name": "t0" });
    f.ok("object-del", { id: "g2" });
  });

  it("auto names repeat for the same seed", () => {
    const names = (): string[] => {
      const g = new Fixture();
      try {
        g.ok("blockdev-add", { driver: "qcow2", "node-name": "q0", file: { driver: "file", filename: "top.qcow2" } });
        return g.names();
      } finally {
        g.dispose();
      }
    };
    expect(names()).toEqual(names());
  });
});
