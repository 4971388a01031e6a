/**
 * A few sequences run on the model and on real qemu-storage-daemon 7.2, compared reply by reply.
 * (The broad seeded differential test lives elsewhere; these pin the core paths.)
 */
import { expect, it } from "vitest";
import { describeWithQemu } from "../support/qemu.js";
import { compareWithQemu, type Step } from "./support/live-compare.js";

const nbd: Step = ["nbd-server-start", { addr: { type: "unix", data: { path: "nbd.sock" } } }];

describeWithQemu("model against qemu-storage-daemon", () => {
  it("conflicts, locks, alignment, exports and deletion", async () => {
    const steps: Step[] = [
      ["query-version"],
      ["blockdev-add", { driver: "file", "node-name": "f0", filename: "raw.img" }],
      ["blockdev-add", { driver: "qcow2", "node-name": "q0", file: { driver: "file", filename: "top.qcow2", "node-name": "tf" } }],
      ["blockdev-add", { driver: "qcow2", "node-name": "q1", file: "tf" }],
      nbd,
      ["block-export-add", { type: "nbd", id: "e0", "node-name": "tf", writable: true }],
      ["block-export-add", { type: "nbd", id: "e1", "node-name": "f0" }],
      ["blockdev-add", { driver: "raw", "node-name": "r0", file: "f0" }],
      ["block-export-add", { type: "nbd", id: "e2", "node-name": "r0", writable: true }],
      ["blockdev-add", { driver: "qcow2", "node-name": "q3", file: { driver: "file", filename: "top.qcow2", "node-name": "f3" } }],
      ["blockdev-add", { driver: "blkdebug", "node-name": "d0", align: 4096, image: { driver: "file", filename: "other.img" } }],
      ["block-export-add", { type: "nbd", id: "e3", "node-name": "d0", writable: true }],
      ["blockdev-add", { driver: "blkdebug", "node-name": "dA", "take-child-perms": ["write"], image: { driver: "null-co", "node-name": "nul" } }],
      ["blockdev-add", { driver: "blkdebug", "node-name": "dB", "unshare-child-perms": ["consistent-read"], image: "nul" }],
      ["blockdev-add", { driver: "blkdebug", "node-name": "dC", "take-child-perms": ["resize"], "unshare-child-perms": ["write"], image: "nul" }],
      ["x-debug-query-block-graph"],
      ["query-named-block-nodes"],
      ["query-named-block-nodes", { flat: true }],
      ["blockdev-del", { "node-name": "tf" }],
      ["blockdev-del", { "node-name": "f0" }],
      ["block-export-del", { id: "e1" }],
      ["blockdev-del", { "node-name": "r0" }],
      ["blockdev-del", { "node-name": "q0" }],
      ["x-debug-query-block-graph"],
    ];
    expect(await compareWithQemu(steps)).toEqual([]);
  });

  it("reopen: options, backing changes, implicit nodes and read-only transitions", async () => {
    const steps: Step[] = [
      ["blockdev-add", { driver: "file", "node-name": "f0", filename: "raw.img", aio: "threads" }],
      ["blockdev-reopen", { options: [{ driver: "file", "node-name": "f0", filename: "other.img", aio: "threads" }] }],
      ["blockdev-reopen", { options: [{ driver: "file", "node-name": "f0", filename: "raw.img" }] }],
      ["blockdev-reopen", { options: [{ driver: "null-co", "node-name": "f0" }] }],
      ["blockdev-add", { driver: "qcow2", "node-name": "t0", file: { driver: "file", filename: "top.qcow2" } }],
      ["blockdev-add", { driver: "qcow2", "node-name": "b0", file: { driver: "file", filename: "base.qcow2", locking: "off" } }],
      ["blockdev-reopen", { options: [{ driver: "qcow2", "node-name": "t0", file: "@t0/file" }] }],
      ["blockdev-reopen", { options: [{ driver: "qcow2", "node-name": "t0", file: "@t0/file", backing: "@t0/backing", "read-only": true }] }],
      ["x-debug-query-block-graph"],
      ["blockdev-reopen", { options: [{ driver: "qcow2", "node-name": "t0", file: "@t0/file", backing: null }] }],
      ["query-named-block-nodes", { flat: true }],
      ["blockdev-reopen", { options: [{ driver: "qcow2", "node-name": "t0", file: "@t0/file", backing: "b0" }] }],
      ["blockdev-reopen", { options: [{ driver: "qcow2", "node-name": "t0", "read-only": false, file: "@t0/file", backing: "b0" }] }],
      ["blockdev-reopen", { options: [{ driver: "qcow2", "node-name": "b0", file: "@b0/file", backing: "t0" }] }],
      ["blockdev-del", { "node-name": "b0" }],
      ["x-debug-query-block-graph"],
      ["query-named-block-nodes"],
    ];
    expect(await compareWithQemu(steps)).toEqual([]);
  });

  it("reopen with exports: moving a file child, multi-node transactions, filters", async () => {
    const steps: Step[] = [
      nbd,
      ["blockdev-add", { driver: "raw", "node-name": "r0", file: { driver: "file", filename: "raw.img" } }],
      ["block-export-add", { type: "nbd", id: "e0", "node-name": "r0", writable: true }],
      ["blockdev-add", { driver: "file", "node-name": "f1", filename: "other.img" }],
      ["blockdev-add", { driver: "file", "node-name": "f2", filename: "other.img", "read-only": true }],
      ["blockdev-reopen", { options: [{ driver: "raw", "node-name": "r0", file: "f1" }] }],
      ["query-named-block-nodes", { flat: true }],
      ["blockdev-reopen", { options: [{ driver: "raw", "node-name": "r0", file: "f2" }] }],
      ["blockdev-reopen", { options: [{ driver: "raw", "node-name": "r0", "read-only": true, file: "f1" }] }],
      ["block-export-del", { id: "e0" }],
      ["blockdev-reopen", { options: [{ driver: "file", "node-name": "f1", filename: "other.img", "read-only": true }] }],
      [
        "blockdev-reopen",
        { options: [{ driver: "file", "node-name": "f1", filename: "other.img", "read-only": true }, { driver: "raw", "node-name": "r0", "read-only": true, file: "f1" }] },
      ],
      ["object-add", { "qom-type": "throttle-group", id: "tg" }],
      ["blockdev-add", { driver: "throttle", "node-name": "t0", "throttle-group": "tg", file: { driver: "null-co", "node-name": "n1" } }],
      ["blockdev-add", { driver: "copy-on-read", "node-name": "c0", file: "t0" }],
      ["blockdev-reopen", { options: [{ driver: "copy-on-read", "node-name": "c0", file: "t0", "read-only": true }] }],
      ["blockdev-reopen", { options: [{ driver: "null-co", "node-name": "n1", "read-only": true }] }],
      ["blockdev-add", { driver: "qcow2", "node-name": "qp", file: { driver: "preallocate", file: { driver: "file", filename: "top.qcow2" } } }],
      ["blockdev-reopen", { options: [{ driver: "qcow2", "node-name": "qp", file: "@qp/file", backing: "@qp/backing", "read-only": true }] }],
      ["x-debug-query-block-graph"],
      ["blockdev-reopen", { options: [{ driver: "qcow2", "node-name": "qp", file: "@qp/file", backing: null }] }],
      // json: filenames (filters, strong options, an overridden backing) and backing_file.
      ["query-named-block-nodes"],
    ];
    expect(await compareWithQemu(steps)).toEqual([]);
  });

  it("commit order: a freed old child's shared file node drops its lock bytes; throttle groups are referenced while used", async () => {
    const steps: Step[] = [
      ["blockdev-add", { driver: "file", "node-name": "fb", filename: "raw.img" }],
      ["blockdev-add", { driver: "raw", "node-name": "r", file: { driver: "blkdebug", image: "fb", "take-child-perms": ["consistent-read"] } }],
      ["blockdev-add", { driver: "file", "node-name": "f1", filename: "other.img" }],
      ["blockdev-reopen", { options: [{ driver: "raw", "node-name": "r", file: "f1" }, { driver: "file", "node-name": "fb", filename: "raw.img" }] }],
      ["blockdev-add", { driver: "blkdebug", "node-name": "d", image: { driver: "file", filename: "raw.img" }, "unshare-child-perms": ["consistent-read"] }],
      ["x-debug-query-block-graph"],
      ["object-add", { "qom-type": "throttle-group", id: "g1" }],
      ["object-add", { "qom-type": "throttle-group", id: "g2" }],
      ["blockdev-add", { driver: "throttle", "node-name": "th", "throttle-group": "g1", file: { driver: "null-co", "node-name": "nn" } }],
      ["object-del", { id: "g1" }],
      ["blockdev-reopen", { options: [{ driver: "throttle", "node-name": "th", "throttle-group": "g2", file: "nn" }] }],
      ["object-del", { id: "g2" }],
      ["object-del", { id: "g1" }],
      // A throttle node opened inside an add that fails later gives its group back.
      ["blockdev-add", { driver: "qcow2", "node-name": "q", file: { driver: "throttle", "throttle-group": "g2", file: { driver: "file", filename: "raw.img" } } }],
      ["blockdev-del", { "node-name": "th" }],
      ["object-del", { id: "g2" }],
    ];
    expect(await compareWithQemu(steps)).toEqual([]);
  });
});
