/** Which commands rule out running another scenario on the same QEMU process (engines/qemu/reuse.ts). */
import { describe, expect, it } from "vitest";
import { reuseBlocker } from "../../src/engines/qemu/reuse.js";

describe("reuseBlocker", () => {
  it("allows what deleting every node and stopping the NBD server undoes, and every query", () => {
    for (const command of ["blockdev-add", "blockdev-reopen", "blockdev-del", "block-stream", "job-dismiss", "nbd-server-start", "block-export-del", "x-blockdev-set-iothread", "query-named-block-nodes", "x-debug-query-block-graph", "qom-list"]) {
      expect(reuseBlocker(command, {}), command).toBeUndefined();
    }
    expect(reuseBlocker("block-export-add", { type: "nbd", id: "e0", "node-name": "n" })).toBeUndefined();
    expect(reuseBlocker("human-monitor-command", { "command-line": 'qemu-io n0 "write 0 64k"' })).toBeUndefined();
  });

  it("rules out a quorum node anywhere in the arguments: its events are throttled per process", () => {
    expect(reuseBlocker("blockdev-add", { driver: "quorum", "node-name": "q" })).toMatch(/quorum/);
    expect(reuseBlocker("blockdev-add", { driver: "raw", file: { driver: "quorum", children: [] } })).toMatch(/quorum/);
    expect(reuseBlocker("blockdev-reopen", { options: [{ driver: "quorum" }] })).toMatch(/quorum/);
  });

  it("allows the objects the reset deletes, except where the scenarios see the order of /objects", () => {
    for (const type of ["iothread", "throttle-group", "secret"]) {
      expect(reuseBlocker("object-add", { "qom-type": type, id: "o0" }), type).toBeUndefined();
      // A deleted object leaves a tombstone in /objects' property table, which changes the order qom-list lists later ids in.
      expect(reuseBlocker("object-add", { "qom-type": type, id: "o0" }, true), type).toMatch(/order of \/objects/);
    }
    expect(reuseBlocker("transaction", { actions: [{ type: "abort", data: {} }] }, true)).toBeUndefined();
    expect(reuseBlocker("object-del", { id: "o0" })).toBeUndefined();
  });

  it("allows a transaction whose actions are each allowed, and names the first that is not", () => {
    const action = (type: string, data: Record<string, unknown> = {}) => ({ type, data });
    const allowed = [
      action("abort"),
      action("block-dirty-bitmap-add", { node: "n", name: "b" }),
      action("blockdev-snapshot", { node: "n", overlay: "o" }),
      action("blockdev-snapshot-sync", { "node-name": "n", "snapshot-file": "s.qcow2" }),
      // Its target image is in the scratch directory, and its job is gone before a reuse.
      action("drive-backup", { device: "n", target: "t", sync: "full" }),
    ];
    expect(reuseBlocker("transaction", { actions: allowed })).toBeUndefined();
    // Every action 7.2 has is allowed: one it does not have is what a reuse cannot vouch for.
    expect(reuseBlocker("transaction", { actions: [...allowed, action("x-future-action")] })).toBe("a transaction with 'x-future-action'");
    expect(reuseBlocker("transaction", { actions: "not a list" })).toBeUndefined();
  });

  it("rules out other objects, other exports, other HMP commands and anything unknown", () => {
    expect(reuseBlocker("object-add", { "qom-type": "authz-simple", id: "a0" })).toMatch(/authz-simple/);
    expect(reuseBlocker("object-add", { "qom-type": "memory-backend-file", id: "m0" })).toMatch(/memory-backend-file/);
    expect(reuseBlocker("block-export-add", { type: "fuse", id: "e0" })).toMatch(/fuse/);
    expect(reuseBlocker("human-monitor-command", { "command-line": "info block" })).toMatch(/HMP/);
    for (const command of ["quit", "stop", "device_add", "chardev-add", "migrate", "qmp_capabilities"]) {
      expect(reuseBlocker(command, {}), command).toBe(`'${command}'`);
    }
  });
});
