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

  it("gives each key list its own order when lists share prefixes or keys, asked again or not", () => {
    const lists = [
      ["parent", "child"],
      ["parent", "child", "name", "perm", "shared-perm"],
      ["parent", "child", "name"],
      ["child", "parent"],
      ["major", "minor", "micro"],
      ["major", "minor"],
    ];
    const first = lists.map((l) => [...qdictKeyOrder(l)]);
    const again = [...lists].reverse().map((l) => [...qdictKeyOrder(l)]).reverse();
    expect(again).toEqual(first);
    expect(first[0]).toEqual(["parent", "child"]);
    expect(first[2]).toEqual(["name", "parent", "child"]);
    // Buckets decide, whatever the insertion order, unless two keys share one.
    expect(first[3]).toEqual(["parent", "child"]);
    expect(first[5]).toEqual(["minor", "major"]);
    expect(first.map((o) => [...o].sort())).toEqual(lists.map((l) => [...l].sort()));
  });
});
