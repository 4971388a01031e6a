/**
 * The descriptor scanning vmdk.c does with strstr and sscanf, reproduced with its quirks: a CID
 * found inside "parentCID", a scan that runs past the end of its line, 10-character words.
 */
import { describe, expect, it } from "vitest";
import { parentFileNameHint, parseDescription, readCid, scanExtentLine, vmdkProbe } from "../../src/engines/model/images/vmdk-format.js";

describe("vmdk descriptor scanning", () => {
  it("scans extent lines as sscanf does", () => {
    expect(scanExtentLine('RW 2048 FLAT "a b.img" 7\n')).toMatchObject({ matches: 5, access: "RW", sectors: 2048, type: "FLAT", fname: "a b.img", flatOffset: 7 });
    expect(scanExtentLine('RW 2048 SPARSE "s.vmdk"\n# x')).toMatchObject({ matches: 4, fname: "s.vmdk" });
    // Whitespace directives skip newlines: the next line's number is taken as the offset.
    expect(scanExtentLine('RW 2048 FLAT "f.img"\n12 x')).toMatchObject({ matches: 5, flatOffset: 12 });
    // %10s stops after ten characters; the number starts with what is left.
    expect(scanExtentLine("READWRITE12 4 FLAT")).toMatchObject({ matches: 3, access: "READWRITE1", sectors: 2, type: "4" });
    expect(scanExtentLine('RW x FLAT "f"')).toMatchObject({ matches: 1 });
    expect(scanExtentLine('RW 8 FLAT ""')).toMatchObject({ matches: 3 });
    expect(scanExtentLine("")).toMatchObject({ matches: 0 });
  });

  it("finds CIDs, hints and quoted values by substring", () => {
    expect(readCid("CID=fffffffe\nparentCID=12\n", false)).toBe(0xfffffffe);
    expect(readCid("CID=fffffffe\nparentCID=12\n", true)).toBe(0x12);
    // No "CID=" line: strstr finds the one inside "parentCID".
    expect(readCid("parentCID=abc\n", false)).toBe(0xabc);
    expect(readCid("CID=0x1f\n", false)).toBe(0x1f);
    expect(readCid("CID=zz\n", false)).toBeUndefined();
    expect(readCid("nothing", true)).toBeUndefined();
    expect(parentFileNameHint('parentFileNameHint="base.vmdk"\n')).toBe("base.vmdk");
    expect(parentFileNameHint("no hint")).toBeNull();
    expect(parentFileNameHint('parentFileNameHint="open')).toBeUndefined();
    expect(parseDescription('createType="monolithicFlat"', "createType", 128)).toBe("monolithicFlat");
    expect(parseDescription(`createType="${"x".repeat(200)}"`, "createType", 128)).toBeUndefined();
    expect(parseDescription("createType", "createType", 128)).toBeUndefined();
  });

  it("probes magics and text descriptors", () => {
    expect(vmdkProbe(Buffer.from("KDMV\0\0\0\0", "latin1"))).toBe(100);
    expect(vmdkProbe(Buffer.from("COWD", "latin1"))).toBe(100);
    expect(vmdkProbe(Buffer.from("# Disk DescriptorFile\n   \r\nversion=1\n", "latin1"))).toBe(100);
    expect(vmdkProbe(Buffer.from("# c\r\nversion=3\r\n", "latin1"))).toBe(100);
    expect(vmdkProbe(Buffer.from("  x\nversion=1\n", "latin1"))).toBe(0);
    expect(vmdkProbe(Buffer.from("version=4\n", "latin1"))).toBe(0);
    expect(vmdkProbe(Buffer.alloc(2048))).toBe(0);
  });
});
