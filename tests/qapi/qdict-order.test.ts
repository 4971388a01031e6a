/** QDict key order (qobject/qdict.c): hash buckets ascending, newest insertion first within a bucket. */
import { describe, expect, it } from "vitest";
import { qdictKeyOrder, toQdictOrder } from "../../src/qapi/qdict-order.js";

describe("QDict key order", () => {
  it("matches QEMU's printing of a version triple (minor and micro share a bucket)", () => {
    expect(qdictKeyOrder(["major", "minor", "micro"])).toEqual(["micro", "minor", "major"]);
  });

  it("matches QEMU's printing of a graph edge and of BlockDeviceInfo's colliding keys", () => {
    expect(qdictKeyOrder(["parent", "child", "name", "perm", "shared-perm"])).toEqual(["name", "parent", "shared-perm", "perm", "child"]);
    expect(qdictKeyOrder(["backing_file", "write_threshold"])).toEqual(["write_threshold", "backing_file"]);
  });

  it("reorders nested objects and leaves arrays in place", () => {
    expect(JSON.stringify(toQdictOrder({ qemu: { major: 7, minor: 2, micro: 22 }, package: "p", list: [{ major: 1, micro: 2 }] }))).toBe(
      '{"list":[{"micro":2,"major":1}],"qemu":{"micro":22,"minor":2,"major":7},"package":"p"}',
    );
  });
});
