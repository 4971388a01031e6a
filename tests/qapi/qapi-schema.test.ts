import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { childOptions, listDrivers, lookupOption, optionKeys } from "../../src/qapi/blockdev-schema.js";
import { generateSchemaModule } from "../../scripts/qapi-schema-source.js";
import { describeWithQemu } from "../support/qemu.js";

describe("blockdev schema (QEMU 7.2 BlockdevOptions)", () => {
  it("lists every BlockdevDriver value", () => {
    const drivers = listDrivers();
    expect(drivers).toHaveLength(42);
    for (const d of ["file", "null-co", "raw", "qcow2", "copy-on-read", "throttle", "blkdebug", "preallocate", "compress", "vvfat"]) {
      expect(drivers).toContain(d);
    }
    expect(drivers).not.toContain("nosuchdrv");
  });

  it("flattens option keys: base members, then the driver's branch", () => {
    expect(optionKeys("raw")).toEqual([
      "driver", "node-name", "discard", "cache.direct", "cache.no-flush", "read-only", "auto-read-only",
      "force-share", "detect-zeroes", "file", "offset", "size",
    ]);
    expect(optionKeys("blkdebug")).toContain("take-child-perms");
    expect(optionKeys("nosuch")).toEqual([]);
  });

  it("knows the child members of each modelled driver", () => {
    expect(childOptions("qcow2")).toEqual(["file", "backing", "data-file"]);
    expect(childOptions("blkdebug")).toEqual(["image"]);
    expect(childOptions("throttle")).toEqual(["file"]);
    expect(childOptions("file")).toEqual([]);
    expect(childOptions("null-co")).toEqual([]);
  });

  it("describes single options", () => {
    expect(lookupOption("qcow2", "backing")).toEqual({ kind: "child", optional: true, nullable: true });
    expect(lookupOption("raw", "file")).toEqual({ kind: "child", optional: false });
    expect(lookupOption("file", "filename")).toEqual({ kind: "scalar", scalar: "str", optional: false, path: true });
    expect(lookupOption("blkdebug", "config")).toMatchObject({ path: true });
    expect(lookupOption("raw", "cache")).toEqual({ kind: "struct", optional: true });
    expect(lookupOption("raw", "cache.direct")).toEqual({ kind: "scalar", scalar: "bool", optional: true });
    expect(lookupOption("null-co", "size")).toEqual({ kind: "scalar", scalar: "int", optional: true });
    expect(lookupOption("file", "aio")).toEqual({ kind: "scalar", scalar: "enum", values: ["threads", "native", "io_uring"], optional: true });
    expect(lookupOption("blkdebug", "unshare-child-perms")).toMatchObject({ kind: "list", values: ["consistent-read", "write", "write-unchanged", "resize"] });
    expect(lookupOption("qcow2", "overlap-check")).toEqual({ kind: "scalar", scalar: "alternate", optional: true });
    expect(lookupOption("qcow2", "overlap-check.template")).toMatchObject({ kind: "scalar", scalar: "enum" });
  });

  it("has no entry for unknown keys, unknown drivers, or keys below a child", () => {
    expect(lookupOption("raw", "nosuch")).toBeUndefined();
    expect(lookupOption("raw", "backing")).toBeUndefined();
    expect(lookupOption("nosuch", "file")).toBeUndefined();
    expect(lookupOption("raw", "file.filename")).toBeUndefined();
    expect(lookupOption("raw", "cache.nosuch")).toBeUndefined();
  });
});

describeWithQemu("generated QAPI schema table", () => {
  it("is what scripts/gen-qapi-schema.ts makes from the installed qemu-storage-daemon", async () => {
    const { text: fresh } = await generateSchemaModule(process.env.QSD_PROG ?? "qemu-storage-daemon");
    const checkedIn = readFileSync(new URL("../../src/qapi/generated/qmp-schema.ts", import.meta.url), "utf8");
    expect(fresh === checkedIn, "src/qapi/generated/qmp-schema.ts is stale: run `npx tsx scripts/gen-qapi-schema.ts`").toBe(true);
  });
});
