/** Permission conflicts (C1–C10 of the QEMU 7.2 ground truth): exact messages and pair order. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { exportNode, Fixture } from "./support/fixture.js";

const conflict = (node: string, perms: string, needs: string, unshares: string): string =>
  `Permission conflict on node '${node}': permissions '${perms}' are both required by ${needs} and unshared by ${unshares}.`;

describe("permission conflicts", () => {
  let f: Fixture;
  beforeEach(() => {
    f = new Fixture();
    f.ok("blockdev-add", { driver: "file", "node-name": "f0", filename: "raw.img" });
  });
  afterEach(() => f.dispose());

  it("C1: a second qcow2 on one file node is checked as the unsharer first", () => {
    f.ok("blockdev-add", { driver: "file", "node-name": "fb", filename: "base.qcow2" });
    f.ok("blockdev-add", { driver: "qcow2", "node-name": "q0", file: "fb" });
    const c1 = conflict("fb", "write, resize", "node 'q0' (uses node 'fb' as 'file' child)", "node 'q1' (uses node 'fb' as 'file' child)");
    expect(f.err("blockdev-add", { driver: "qcow2", "node-name": "q1", file: "fb" })).toBe(c1);
    expect(f.err("blockdev-add", { driver: "qcow2", "node-name": "q1", "read-only": true, file: "fb" })).toBe(c1);
    expect(f.names()).not.toContain("q1");
  });

  it("C2: a writable export against a qcow2 that unshares write", () => {
    f.ok("blockdev-add", { driver: "blkdebug", "node-name": "q0", "take-child-perms": ["write", "resize", "consistent-read"], "unshare-child-perms": ["write", "resize"], image: "f0" });
    expect(exportNode(f, "e0", "f0", true)).toBe(
      conflict("f0", "write", "an unnamed block device (uses node 'f0' as 'root' child)", "node 'q0' (uses node 'f0' as 'image' child)"),
    );
    expect(exportNode(f, "e1", "f0", false)).toBe(
      conflict("f0", "resize", "node 'q0' (uses node 'f0' as 'image' child)", "an unnamed block device (uses node 'f0' as 'root' child)"),
    );
    // A failed export leaves no BlockBackend behind.
    expect(f.graph().nodes.filter((n) => n.type === "block-backend")).toEqual([]);
  });

  it("C5: read-only file node — qcow2 cannot write it, raw can sit on it until someone writes", () => {
    f.ok("blockdev-add", { driver: "file", "node-name": "ro", filename: "raw.img", "read-only": true, locking: "off" });
    expect(f.err("blockdev-add", { driver: "qcow2", "node-name": "q0", file: "ro" })).toBe("Block node is read-only");
    f.ok("blockdev-add", { driver: "raw", "node-name": "r0", file: "ro" });
    expect(exportNode(f, "e0", "r0", true)).toBe("Block node is read-only");
    expect(exportNode(f, "e1", "ro", true)).toBe("Cannot export read-only node as writable");
  });

  it("C6: several perms are listed in ascending bit order", () => {
    f.ok("blockdev-add", { driver: "blkdebug", "node-name": "d0", "unshare-child-perms": ["write", "resize", "consistent-read"], image: "f0" });
    expect(
      f.err("blockdev-add", { driver: "blkdebug", "node-name": "d1", "take-child-perms": ["consistent-read", "write", "write-unchanged", "resize"], image: "f0" }),
    ).toBe(conflict("f0", "consistent read, write, resize", "node 'd1' (uses node 'f0' as 'image' child)", "node 'd0' (uses node 'f0' as 'image' child)"));
  });

  it("C10: parents are checked newest-first, the new parent first as the unsharer", () => {
    f.ok("blockdev-add", { driver: "blkdebug", "node-name": "dA", "take-child-perms": ["write"], image: "f0" });
    f.ok("blockdev-add", { driver: "blkdebug", "node-name": "dB", "unshare-child-perms": ["consistent-read"], image: "f0" });
    expect(
      f.err("blockdev-add", { driver: "blkdebug", "node-name": "dC", "take-child-perms": ["consistent-read", "resize"], "unshare-child-perms": ["write"], image: "f0" }),
    ).toBe(conflict("f0", "write", "node 'dA' (uses node 'f0' as 'image' child)", "node 'dC' (uses node 'f0' as 'image' child)"));
    expect(f.err("blockdev-add", { driver: "blkdebug", "node-name": "dD", "take-child-perms": ["resize", "consistent-read"], image: "f0" })).toBe(
      conflict("f0", "consistent read", "node 'dD' (uses node 'f0' as 'image' child)", "node 'dB' (uses node 'f0' as 'image' child)"),
    );
  });

  it("C7: two file nodes on one image conflict through image locks", () => {
    f.ok("blockdev-add", { driver: "qcow2", "node-name": "q0", file: { driver: "file", filename: "base.qcow2", "node-name": "b0" } });
    expect(f.err("blockdev-add", { driver: "qcow2", "node-name": "q1", file: { driver: "file", filename: "base.qcow2", "node-name": "b1" } })).toBe(
      'Failed to get "write" lock',
    );
    expect(
      f.err("blockdev-add", { driver: "qcow2", "node-name": "q2", "read-only": true, file: { driver: "file", filename: "base.qcow2", "node-name": "b2" } }),
    ).toBe('Failed to get shared "write" lock');
    // locking=off opts out; a failed add freed its inline file node.
    f.ok("blockdev-add", { driver: "qcow2", "node-name": "q3", file: { driver: "file", filename: "base.qcow2", locking: "off", "node-name": "b1" } });
  });

  it("C8: write without resize needs an image size aligned to the request alignment", () => {
    f.ok("blockdev-add", { driver: "blkdebug", "node-name": "d0", align: 4096, image: { driver: "file", filename: "other.img" } });
    expect(exportNode(f, "e0", "d0", true)).toBe(
      "Cannot get 'write' permission without 'resize': Image size is not a multiple of request alignment",
    );
    expect(exportNode(f, "e1", "d0", false)).toBe("ok");
  });

  it("C9: copy-on-read over a read-only node fails even when read-only itself", () => {
    f.ok("blockdev-add", { driver: "file", "node-name": "ro", filename: "raw.img", "read-only": true, locking: "off" });
    expect(f.err("blockdev-add", { driver: "copy-on-read", "node-name": "c0", "read-only": true, file: "ro" })).toBe("Block node is read-only");
  });
});
