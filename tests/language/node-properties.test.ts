/**
 * `expect node NODE KEY=VALUE…` and `show node NODE KEY…`: how they parse, how keys map onto
 * query-named-block-nodes' reply (node-properties.ts), and what the checker says about bad keys
 * and values.
 */
import { describe, expect, it } from "vitest";
import { qmpSchema } from "../../src/qapi/generated/qmp-schema.js";
import type { SchemaObject } from "../../src/qapi/schema-types.js";
import { loadScenario } from "../../src/language/index.js";
import { lookupProperty, propertyValue } from "../../src/language/node-properties.js";
import { readExpected, writeScalar } from "../../src/language/property-values.js";
import { only, problems } from "./helpers.js";

function path(key: string): string[] | string {
  const r = lookupProperty(key);
  return "property" in r ? r.property.path : `${r.problem.reason}: ${r.problem.part}`;
}

describe("parsing", () => {
  it("expect node takes a node reference and one or more key=value", () => {
    const s = only("expect node top/backing detect-zeroes=on image.virtual-size=1M", "expect");
    expect(s.assertion).toMatchObject({
      kind: "node",
      node: { root: "top", path: ["backing"] },
      properties: [
        { key: "detect-zeroes", value: { type: "bool", raw: "on" } },
        { key: "image.virtual-size", value: { type: "number", value: 1048576 } },
      ],
    });
    expect(problems("add a: null-co\nexpect node a")).toEqual(["2:14 unexpected end of line"]);
  });

  it("show node takes property names after the node; without them it is the node's edges", () => {
    expect(only("show node top cache image.virtual-size", "show").properties?.map((p) => p.name)).toEqual(["cache", "image.virtual-size"]);
    expect(only("show node top", "show")).not.toHaveProperty("properties");
  });
});

describe("keys", () => {
  it("are the reply's members, dotted, with - for _ and three blockdev-add names", () => {
    expect(path("detect-zeroes")).toEqual(["detect_zeroes"]);
    expect(path("detect_zeroes")).toEqual(["detect_zeroes"]);
    expect(path("driver")).toEqual(["drv"]);
    expect(path("drv")).toEqual(["drv"]);
    expect(path("read-only")).toEqual(["ro"]);
    expect(path("filename")).toEqual(["file"]);
    expect(path("file")).toEqual(["file"]);
    expect(path("backing-file")).toEqual(["backing_file"]);
    expect(path("cache.no-flush")).toEqual(["cache", "no-flush"]);
    expect(path("image.virtual-size")).toEqual(["image", "virtual-size"]);
    expect(path("image.backing-image.backing-image.format")).toEqual(["image", "backing-image", "backing-image", "format"]);
    expect(path("image.format-specific.data.compat")).toEqual(["image", "format-specific", "data", "compat"]);
    expect(path("image.format-specific.data.create-type")).toEqual(["image", "format-specific", "data", "create-type"]);
    expect(path("dirty-bitmaps.0.granularity")).toEqual(["dirty-bitmaps", "0", "granularity"]);
  });

  it("aliases and dashed spellings name one member each: no two members of an object share a spelling", () => {
    const clashes: string[] = [];
    for (const [name, t] of Object.entries(qmpSchema.types)) {
      if (t.kind !== "object") continue;
      const spelt = (t as SchemaObject).members.map((m) => m.name.replaceAll("_", "-"));
      if (new Set(spelt).size !== spelt.length) clashes.push(name);
    }
    expect(clashes).toEqual([]);
    expect(path("ro")).toEqual(path("read-only"));
  });

  it("say where a key stops naming anything", () => {
    expect(path("detect-zeroe")).toBe("unknown: detect-zeroe");
    expect(path("ro.x")).toBe("scalar: x");
    expect(path("dirty-bitmaps.name")).toBe("index: name");
    // Aliases are for the top level only: image.filename is the image's own member.
    expect(path("cache.driver")).toBe("unknown: driver");
  });

  it("read values out of a reply entry, absent members as undefined", () => {
    const entry = { ro: true, image: { "virtual-size": 5, snapshots: [{ name: "s0" }] } };
    const value = (key: string) => {
      const r = lookupProperty(key);
      return "property" in r ? propertyValue(entry, r.property) : "bad key";
    };
    expect(value("read-only")).toBe(true);
    expect(value("image.virtual-size")).toBe(5);
    expect(value("image.snapshots.0.name")).toBe("s0");
    expect(value("image.snapshots.1.name")).toBeUndefined();
    expect(value("backing-file")).toBeUndefined();
  });
});

describe("the checker", () => {
  const node = "add n0: null-co\n";

  it("accepts every form of key and value", () => {
    expect(
      problems(
        node +
          "expect node n0 driver=null-co read-only=off detect-zeroes=on cache.direct=false image.virtual-size=1G " +
          'backing-file=null node-name=n0 filename="null-co://" image.format-specific.type=qcow2',
      ),
    ).toEqual([]);
    expect(problems(node + "show node n0 cache image detect-zeroes image.format-specific dirty-bitmaps")).toEqual([]);
    expect(problems(node + "expect node n0 drv=null-co ro=on detect_zeroes=unmap")).toEqual([]);
  });

  it("reports an unknown key at the key, with did-you-mean among the members at that level", () => {
    const text = node + "expect node n0 detect-zeroe=on image.virtul-size=1M\nshow node n0 imagee";
    expect(problems(text)).toEqual([
      "2:16 unknown node property 'detect-zeroe'",
      "2:32 unknown node property 'image.virtul-size'",
      "3:14 unknown node property 'imagee'",
    ]);
    expect(loadScenario(text, "t.scn").diagnostics.map((d) => d.notes[0])).toEqual([
      "did you mean 'detect-zeroes'?",
      "did you mean 'image.virtual-size'?",
      "did you mean 'image'?",
    ]);
  });

  it("reports values that do not fit the member's type", () => {
    expect(problems(node + "expect node n0 ro=1 image.virtual-size=1m detect-zeroes=unmapp drv=null cache=on dirty-bitmaps=x")).toEqual([
      "2:19 'ro' is a boolean: write on or off",
      "2:40 'image.virtual-size' is a number",
      "2:57 'detect-zeroes' has no value 'unmapp'",
      "2:68 'drv' is always in the reply: it cannot be null",
      "2:79 'cache' is an object: expect node compares single values",
      "2:96 'dirty-bitmaps' is a list: expect node compares single values",
    ]);
  });

  it("reports a property named twice, under any spelling", () => {
    expect(problems(node + "expect node n0 ro=on read-only=on\nshow node n0 cache cache")).toEqual([
      "2:22 'read-only' is the same property as 'ro'",
      "3:20 property 'cache' is named twice",
    ]);
  });

  it("checks each parameter value", () => {
    expect(problems("each v in on nope\n" + node + "expect node n0 detect-zeroes=$v")).toEqual(["3:30 'detect-zeroes' has no value 'nope'"]);
  });
});

describe("values written back", () => {
  it("read back as what was shown", () => {
    expect(writeScalar(true)).toBe("on");
    expect(writeScalar(false, "true/false")).toBe("false");
    expect(writeScalar(65536)).toBe("65536");
    expect(writeScalar("$TEST_DIR/a.qcow2")).toBe("$TEST_DIR/a.qcow2");
    expect(writeScalar("json:{\"a\": 1}")).toBe('"json:{\\"a\\": 1}"');
    expect(writeScalar("null")).toBe('"null"');
    expect(writeScalar(undefined)).toBe("null");
    const detect = lookupProperty("detect-zeroes");
    if (!("property" in detect)) throw new Error("detect-zeroes");
    const on = only("expect node n detect-zeroes=" + writeScalar("on"), "expect");
    expect(on.assertion.kind === "node" && readExpected(detect.property, "detect-zeroes", on.assertion.properties[0]!.value)).toEqual({
      absent: false,
      value: "on",
    });
  });
});
