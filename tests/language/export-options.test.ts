/** `export NODE …` takes every member block-export-add has for an NBD export. */
import { describe, expect, it } from "vitest";
import { EXPORT_OPTIONS } from "../../src/language/schema.js";
import { qmpSchema } from "../../src/qapi/generated/qmp-schema.js";
import type { SchemaObject } from "../../src/qapi/schema-types.js";
import { only, problems } from "./helpers.js";

describe("export options", () => {
  it("are QEMU 7.2's block-export-add members for nbd, but the type and the node", () => {
    expect(EXPORT_OPTIONS).toEqual([
      "id",
      "fixed-iothread",
      "iothread",
      "writable",
      "writethrough",
      "name",
      "description",
      "bitmaps",
      "allocation-depth",
    ]);
    const args = qmpSchema.types[qmpSchema.commands["block-export-add"]!.arg] as SchemaObject;
    expect(args.variants?.["nbd"]).toBeDefined();
  });

  it("are all accepted, writable alone or as an option", () => {
    const s = "add n0: null-co\nexport n0 writable id=e0 name=disk description=\"the disk\" bitmaps=[b0, b1] allocation-depth=on";
    expect(problems("iothread io0\n" + s + " iothread=io0 fixed-iothread=off writethrough=on")).toEqual([]);
    expect(problems("add n0: null-co\nexport n0 writable=on id=e0")).toEqual([]);
    expect(only("export n0 bitmaps=[b0]", "export").options[0]).toMatchObject({ key: "bitmaps", value: { type: "list" } });
  });

  it("say where the node and the type go, and catch writable twice and misspellings", () => {
    expect(problems("add n0: null-co\nexport n0 node-name=n0 type=nbd writable writable=on allocation_depth=on")).toEqual([
      "2:11 option 'node-name' is not written for export",
      "2:24 option 'type' is not written for export",
      "2:42 'writable' is given twice",
      "2:54 unknown option 'allocation_depth' for export",
    ]);
  });
});
