import { describe, expect, it } from "vitest";
import { binaryVariable, resolveBinaries } from "../../src/engines/qemu/binaries.js";

describe("resolveBinaries", () => {
  it("uses PATH names when nothing is set", () => {
    expect(resolveBinaries({}, {})).toEqual({
      qsd: "qemu-storage-daemon",
      qemu: "qemu-system-x86_64",
      img: "qemu-img",
      io: "qemu-io",
    });
  });

  it("takes the qemu-iotests variables, and the options object wins over them", () => {
    const env = { QSD_PROG: "/e/qsd", QEMU_PROG: "/e/qemu", QEMU_IMG_PROG: "/e/img", QEMU_IO_PROG: "", PATH: "/bin" };
    expect(resolveBinaries({ qemu: "/o/qemu" }, env)).toEqual({ qsd: "/e/qsd", qemu: "/o/qemu", img: "/e/img", io: "qemu-io" });
  });

  it("names the variable for each binary", () => {
    expect(binaryVariable("img")).toBe("QEMU_IMG_PROG");
  });
});
