/** blockdev-reopen (R1–R11 of the QEMU 7.2 ground truth). */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { exportNode, Fixture } from "./support/fixture.js";

describe("blockdev-reopen", () => {
  let f: Fixture;
  beforeEach(() => {
    f = new Fixture();
  });
  afterEach(() => f.dispose());

  it("R1/R7: an inline child inherits read-only only when the parent passes it explicitly", () => {
    f.ok("blockdev-add", { driver: "qcow2", "node-name": "q0", file: { driver: "file", filename: "base.qcow2" } });
    const file = f.nodeAt("q0/file");
    expect(exportNode(f, "e0", "q0", false)).toBe("ok");
    expect(f.reopen({ driver: "qcow2", "node-name": "q0", "read-only": true, file })).toBe("ok");
    expect(f.edge("q0", "file")).toBe("perm=consistent-read shared=write-unchanged,consistent-read");
    expect(f.reopen({ driver: "qcow2", "node-name": "q0", file })).toBe("Block node is read-only");
    expect(f.reopen({ driver: "qcow2", "node-name": "q0", "read-only": false, file })).toBe("ok");
    expect(f.edge("q0", "file")).toBe("perm=resize,write,consistent-read shared=write-unchanged,consistent-read");
  });

  it("R2: parent and separately added child must go read-write together", () => {
    f.ok("blockdev-add", { driver: "file", "node-name": "f0", filename: "base.qcow2", "read-only": true });
    f.ok("blockdev-add", { driver: "qcow2", "node-name": "q0", "read-only": true, file: "f0" });
    expect(f.reopen({ driver: "qcow2", "node-name": "q0", "read-only": false, file: "f0" })).toBe("Block node is read-only");
    expect(f.reopen({ driver: "qcow2", "node-name": "q0", file: "f0" }, { driver: "file", "node-name": "f0", filename: "base.qcow2" })).toBe("ok");
    expect(f.reopen({ driver: "file", "node-name": "f0", filename: "base.qcow2", "read-only": true })).toBe(
      "Read-only block node 'f0' cannot support read-write users",
    );
    expect(
      f.reopen({ driver: "file", "node-name": "f0", filename: "base.qcow2", "read-only": true }, { driver: "qcow2", "node-name": "q0", "read-only": true, file: "f0" }),
    ).toBe("ok");
  });

  it("R3: options that cannot change or be reset, and lookups", () => {
    f.ok("blockdev-add", { driver: "file", "node-name": "f0", filename: "raw.img", aio: "threads" });
    expect(f.reopen({ driver: "file", "node-name": "f0", filename: "other.img", aio: "threads" })).toBe("Cannot change the option 'filename'");
    expect(f.reopen({ driver: "file", "node-name": "f0", filename: "raw.img" })).toBe("Option 'aio' cannot be reset to its default value");
    expect(f.reopen({ driver: "file", "node-name": "f0", filename: "raw.img", aio: "threads", locking: "off" })).toBe(
      "Cannot change the option 'locking'",
    );
    expect(f.reopen({ driver: "null-co", "node-name": "f0" })).toBe("Option 'filename' cannot be reset to its default value");
    expect(f.reopen({ driver: "raw", "node-name": "zz", file: "f0" })).toBe("Failed to find node with node-name='zz'");
    expect(f.reopen({ driver: "raw", file: "f0" })).toBe("node-name not specified");
    f.ok("blockdev-add", { driver: "raw", "node-name": "r0", file: "f0" });
    expect(f.reopen({ driver: "raw", "node-name": "r0", file: "nosuch" })).toBe("Cannot find device='' nor node-name='nosuch'");
    expect(f.reopen({ driver: "raw", "node-name": "r0", file: "r0" })).toBe("Making 'r0' a file child of 'r0' would create a cycle");
  });

  it("R4: backing must be given while the header names one; null frees the implicit chain", () => {
    f.ok("blockdev-add", { driver: "qcow2", "node-name": "q0", file: { driver: "file", filename: "top.qcow2" } });
    f.ok("blockdev-add", { driver: "qcow2", "node-name": "b0", file: { driver: "file", filename: "base.qcow2", locking: "off" } });
    const file = f.nodeAt("q0/file");
    const implicit = [f.nodeAt("q0/backing"), f.nodeAt("q0/backing/file")];
    expect(f.reopen({ driver: "qcow2", "node-name": "q0", file })).toBe("backing is missing for 'q0'");
    expect(f.reopen({ driver: "qcow2", "node-name": "q0", file, backing: "q0" })).toBe("Making 'q0' a backing child of 'q0' would create a cycle");
    expect(f.reopen({ driver: "qcow2", "node-name": "q0", file, backing: null })).toBe("ok");
    for (const name of implicit) expect(f.names()).not.toContain(name);
    expect(f.reopen({ driver: "qcow2", "node-name": "q0", file })).toBe("backing is missing for 'q0'");
    expect(f.reopen({ driver: "qcow2", "node-name": "q0", file, backing: "b0" })).toBe("ok");
    expect(f.reopen({ driver: "qcow2", "node-name": "b0", file: f.nodeAt("b0/file"), backing: "q0" })).toBe(
      "Making 'q0' a backing child of 'b0' would create a cycle",
    );
    expect(f.err("blockdev-del", { "node-name": "b0" })).toBe("Node 'b0' is busy: node is used as backing hd of 'q0'");
  });

  it("R4/§6: a replaced child goes to the head of the children list", () => {
    f.ok("blockdev-add", { driver: "qcow2", "node-name": "q0", file: { driver: "file", filename: "top.qcow2", "node-name": "q0f" } });
    f.ok("blockdev-add", { driver: "file", "node-name": "alt", filename: "top.qcow2", locking: "off" });
    const order = (): string[] => f.edges().filter((e) => e.startsWith("q0 ")).map((e) => e.split(" ")[1]!);
    expect(order()).toEqual(["-[file]->", "-[backing]->"]);
    expect(f.reopen({ driver: "qcow2", "node-name": "q0", file: "alt", backing: f.nodeAt("q0/backing") })).toBe("ok");
    expect(order()).toEqual(["-[backing]->", "-[file]->"]);
    expect(f.names()).not.toContain("q0f");
  });

  it("R5: moving a file child frees the old inline child; a dict for a foreign child cannot change", () => {
    f.ok("blockdev-add", { driver: "raw", "node-name": "r0", file: { driver: "file", filename: "raw.img" } });
    const old = f.nodeAt("r0/file");
    f.ok("blockdev-add", { driver: "file", "node-name": "f1", filename: "other.img" });
    f.ok("blockdev-add", { driver: "file", "node-name": "f2", filename: "other.img", "read-only": true });
    expect(exportNode(f, "e0", "r0", true)).toBe("ok");
    expect(f.reopen({ driver: "raw", "node-name": "r0", file: "f1" })).toBe("ok");
    expect(f.names()).not.toContain(old);
    expect(f.edge("r0", "file")).toBe("perm=write,consistent-read shared=write-unchanged,write,consistent-read");
    expect(f.reopen({ driver: "raw", "node-name": "r0", file: "f2" })).toBe("Block node is read-only");
    expect(f.reopen({ driver: "raw", "node-name": "r0", file: { driver: "file", filename: "raw.img" } })).toBe("Cannot change the option 'file.driver'");
    // A failed reopen changed nothing.
    expect(f.edge("r0", "file")).toBe("perm=write,consistent-read shared=write-unchanged,write,consistent-read");
  });

  it("R8: going read-only under a writer", () => {
    f.ok("blockdev-add", { driver: "qcow2", "node-name": "q0", file: { driver: "file", filename: "base.qcow2", "node-name": "qf" } });
    expect(exportNode(f, "e0", "q0", true)).toBe("ok");
    expect(f.reopen({ driver: "qcow2", "node-name": "q0", "read-only": true, file: "qf" })).toBe(
      "Read-only block node 'q0' cannot support read-write users",
    );
  });

  it("R9: reopen-time conflicts and driver option resets", () => {
    f.ok("blockdev-add", { driver: "file", "node-name": "f0", filename: "raw.img" });
    f.ok("blockdev-add", { driver: "file", "node-name": "f1", filename: "raw.img", locking: "off" });
    f.ok("blockdev-add", { driver: "raw", "node-name": "r0", file: "f1" });
    f.ok("blockdev-add", { driver: "blkdebug", "node-name": "d0", "unshare-child-perms": ["write"], image: "f0" });
    expect(exportNode(f, "e0", "r0", true)).toBe("ok");
    expect(f.reopen({ driver: "raw", "node-name": "r0", file: "f0" })).toBe(
      "Permission conflict on node 'f0': permissions 'write' are both required by node 'r0' (uses node 'f0' as 'file' child) and unshared by node 'd0' (uses node 'f0' as 'image' child).",
    );
    expect(f.reopen({ driver: "blkdebug", "node-name": "d0", image: "f0" })).toBe("Option 'unshare-child-perms.0' cannot be reset to its default value");
  });

  it("R10: force-share can be neither dropped nor restated", () => {
    expect(f.err("blockdev-add", { driver: "file", "node-name": "fs", filename: "raw.img", "force-share": true })).toBe(
      "force-share=on can only be used with read-only images",
    );
    f.ok("blockdev-add", { driver: "file", "node-name": "fs", filename: "raw.img", "read-only": true, "force-share": true });
    expect(f.reopen({ driver: "file", "node-name": "fs", filename: "raw.img", "read-only": true })).toBe(
      "Option 'force-share' cannot be reset to its default value",
    );
    expect(f.reopen({ driver: "file", "node-name": "fs", filename: "raw.img", "read-only": true, "force-share": true })).toBe(
      "Cannot change the option 'force-share'",
    );
  });

  it("R11: drivers without reopen, throttle groups, and a read-only node under copy-on-read", () => {
    f.ok("object-add", { "qom-type": "throttle-group", id: "tg" });
    expect(f.err("blockdev-add", { driver: "throttle", "node-name": "t0", "throttle-group": "nosuch", file: { driver: "null-co" } })).toBe(
      "Throttle group 'nosuch' does not exist",
    );
    f.ok("blockdev-add", { driver: "throttle", "node-name": "t0", "throttle-group": "tg", file: { driver: "null-co", "node-name": "n1" } });
    f.ok("blockdev-add", { driver: "copy-on-read", "node-name": "c0", file: "t0" });
    expect(f.reopen({ driver: "copy-on-read", "node-name": "c0", file: "t0", "read-only": true })).toBe(
      "Block format 'copy-on-read' used by node 'c0' does not support reopening files",
    );
    expect(f.reopen({ driver: "null-co", "node-name": "n1", "read-only": true })).toBe("Read-only block node 'n1' cannot support read-write users");
    expect(f.reopen({ driver: "throttle", "node-name": "t0", "throttle-group": "nope", file: "n1" })).toBe("Throttle group 'nope' does not exist");
  });

  it("a freed old child's file node keeps no stale lock bytes: its perms commit before the subtree is freed", () => {
    // tran_commit runs newest-first: the file node's set_perm (taken while the old child still read
    // it) commits first, then the old child is freed and the file node relaxed. Committing
    // oldest-first left it holding the "consistent read" byte for a parent that was gone.
    f.ok("blockdev-add", { driver: "file", "node-name": "fb", filename: "raw.img" });
    f.ok("blockdev-add", { driver: "raw", "node-name": "r", file: { driver: "blkdebug", image: "fb", "take-child-perms": ["consistent-read"] } });
    f.ok("blockdev-add", { driver: "file", "node-name": "f1", filename: "other.img" });
    expect(f.reopen({ driver: "raw", "node-name": "r", file: "f1" }, { driver: "file", "node-name": "fb", filename: "raw.img" })).toBe("ok");
    f.ok("blockdev-add", { driver: "blkdebug", "node-name": "d", image: { driver: "file", filename: "raw.img" }, "unshare-child-perms": ["consistent-read"] });
  });

  it("a failed multi-node reopen rolls back every entry", () => {
    f.ok("blockdev-add", { driver: "null-co", "node-name": "n0" });
    f.ok("blockdev-add", { driver: "raw", "node-name": "r0", file: "n0" });
    expect(exportNode(f, "e0", "r0", true)).toBe("ok");
    expect(f.reopen({ driver: "null-co", "node-name": "n0", "read-only": true }, { driver: "raw", "node-name": "r0", file: "n0" })).toBe(
      "Read-only block node 'n0' cannot support read-write users",
    );
    const nodes = f.ok("query-named-block-nodes", { flat: true }) as Array<{ "node-name": string; ro: boolean }>;
    expect(nodes.map((n) => [n["node-name"], n.ro])).toEqual([["r0", false], ["n0", false]]);
  });
});
