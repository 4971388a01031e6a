/**
 * The checker's node lifetimes follow the graph: a node that only its parent held (an inline child,
 * named or not) goes when that parent lets go of it, by reopen or by del; a node added on its own
 * (add, qmp blockdev-add) stays until its own del.
 */
import { describe, expect, it } from "vitest";
import { problems } from "./helpers.js";

const IMAGES = ["image base.qcow2 qcow2 1M", "image top.qcow2 qcow2 1M", "image other.qcow2 qcow2 1M"];
const TOP_WITH_INLINE_BASE = "add top: qcow2 file=(file filename=top.qcow2) backing=(base: qcow2 file=(bf: file filename=base.qcow2))";
const ADD_BASE_AGAIN = "add base: qcow2 file=(bf: file filename=base.qcow2)";

function check(...lines: string[]): string[] {
  return problems([...IMAGES, ...lines].join("\n")).map((p) => p.replace(/^(\d+)/, (n) => String(Number(n) - IMAGES.length)));
}

describe("node lifetimes follow the graph", () => {
  it("a reopen that detaches an inline child frees it and its own children: their names can be added again", () => {
    expect(check(TOP_WITH_INLINE_BASE, "reopen top backing=null", ADD_BASE_AGAIN)).toEqual([]);
  });

  it("so does a reopen that replaces it, a fresh or raw reopen, and a reopen block", () => {
    const other = "add other: qcow2 file=(file filename=other.qcow2) backing=null";
    expect(check(TOP_WITH_INLINE_BASE, other, "reopen top backing=other", ADD_BASE_AGAIN)).toEqual([]);
    expect(check(TOP_WITH_INLINE_BASE, "reopen fresh top backing=null", ADD_BASE_AGAIN)).toEqual([]);
    expect(check(TOP_WITH_INLINE_BASE, "reopen raw top driver=qcow2 file=top/file backing=null", ADD_BASE_AGAIN)).toEqual([]);
    expect(check(TOP_WITH_INLINE_BASE, "reopen {", "  top backing=null", "}", ADD_BASE_AGAIN)).toEqual([]);
  });

  it("a freed node is not used afterwards, but may be expected gone", () => {
    expect(check(TOP_WITH_INLINE_BASE, "reopen top backing=null", "expect gone base", "expect exists bf")).toEqual([
      "4:15 node 'bf' is used after it was freed",
    ]);
  });

  it("del of the former parent leaves a node added again under the freed name alone", () => {
    expect(check(TOP_WITH_INLINE_BASE, "reopen top backing=null", ADD_BASE_AGAIN, "del top", "expect exists base", "del base")).toEqual([]);
    expect(
      check(TOP_WITH_INLINE_BASE, "reopen top backing=null", ADD_BASE_AGAIN, "reopen top backing=base", "del top", "del base"),
    ).toEqual([]);
  });

  it("a reopen that fails, or keeps the child, frees nothing", () => {
    expect(check(TOP_WITH_INLINE_BASE, 'reopen top backing=null -> error "x"', ADD_BASE_AGAIN)).toEqual([
      "3:5 duplicate node name 'base'",
      "3:23 duplicate node name 'bf'",
    ]);
    expect(check(TOP_WITH_INLINE_BASE, "reopen top read-only=on backing.read-only=on", "expect exists bf")).toEqual([]);
    expect(check(TOP_WITH_INLINE_BASE, "reopen top backing=base", "expect exists bf")).toEqual([]);
  });

  it("a node that another parent also holds survives its first parent's del, and goes with the last", () => {
    expect(
      check(
        "add r0: raw file=(f0: file filename=top.qcow2 locking=off) read-only=on",
        "add r1: raw file=f0 read-only=on",
        "del r0",
        "expect exists f0",
        "del r1",
        "expect exists f0",
      ),
    ).toEqual(["6:15 node 'f0' is used after it was deleted"]);
  });

  it("a node added on its own is never freed by a parent letting go of it", () => {
    expect(
      check(
        "add base: qcow2 file=(file filename=base.qcow2)",
        "add top: qcow2 file=(file filename=top.qcow2) backing=base",
        "reopen top backing=null",
        "expect exists base",
        "del top",
        "del base",
      ),
    ).toEqual([]);
  });

  it("del still takes a node's inline children with it, and their names can be added again", () => {
    expect(check(TOP_WITH_INLINE_BASE, "del top", "expect exists bf")).toEqual(["3:15 node 'bf' is used after it was deleted"]);
    expect(check(TOP_WITH_INLINE_BASE, "del top", ADD_BASE_AGAIN)).toEqual([]);
  });

  it("blockdev-snapshot-sync names its overlay, alone or in a transaction; a failed one may be expected gone", () => {
    const sync = (node: string, overlay: string) =>
      `{"node-name": "${node}", "snapshot-file": "$TEST_DIR/${overlay}.qcow2", "snapshot-node-name": "${overlay}"}`;
    expect(
      check(
        ADD_BASE_AGAIN,
        `qmp blockdev-snapshot-sync ${sync("base", "ov")}`,
        `qmp transaction {"actions": [{"type": "blockdev-snapshot-sync", "data": ${sync("ov", "ov2")}}]}`,
        "expect exists ov2",
        `qmp transaction {"actions": [{"type": "blockdev-snapshot-sync", "data": ${sync("ov2", "ov3")}}, {"type": "abort", "data": {}}]} -> error "Transaction aborted using Abort action"`,
        "expect gone ov3",
      ),
    ).toEqual([]);
    expect(check(ADD_BASE_AGAIN, "expect exists ov")).toEqual(["2:15 unknown node 'ov'"]);
  });

  it("drive-mirror names the target it opens with node-name", () => {
    const mirror = `qmp drive-mirror {"device": "base", "target": "$TEST_DIR/t.qcow2", "sync": "full", "node-name": "t"}`;
    expect(check(ADD_BASE_AGAIN, mirror, "expect exists t")).toEqual([]);
    expect(check(ADD_BASE_AGAIN, mirror.replace(', "node-name": "t"', ""), "expect exists t")).toEqual(["3:15 unknown node 't'"]);
  });

  it("a job started with qmp names its filter with filter-node-name", () => {
    for (const start of [
      `qmp drive-backup {"job-id": "j", "device": "base", "target": "$TEST_DIR/t.qcow2", "sync": "none", "filter-node-name": "flt"}`,
      `qmp block-stream {"job-id": "j", "device": "base", "filter-node-name": "flt"}`,
      `qmp blockdev-mirror {"job-id": "j", "device": "base", "target": "base/file", "sync": "full", "filter-node-name": "flt"}`,
    ]) {
      expect(check(ADD_BASE_AGAIN, start, "add r: raw file=flt")).toEqual([]);
      expect(check(ADD_BASE_AGAIN, start.replace(', "filter-node-name": "flt"', ""), "add r: raw file=flt")).toEqual(["3:17 unknown node 'flt'"]);
    }
  });
});
