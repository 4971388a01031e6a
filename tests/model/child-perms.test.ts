/** Per-driver child permissions, as verified on QEMU 7.2 (edges shown in x-debug's descending order). */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { exportNode, Fixture } from "./support/fixture.js";

const ALL = "resize,write-unchanged,write,consistent-read";

describe("child permissions per driver", () => {
  let f: Fixture;
  beforeEach(() => {
    f = new Fixture();
  });
  afterEach(() => f.dispose());

  it("raw without users takes nothing and shares everything; a writable export passes write through", () => {
    f.ok("blockdev-add", { driver: "raw", "node-name": "r0", file: { driver: "file", filename: "raw.img" } });
    expect(f.edge("r0", "file")).toBe(`perm= shared=${ALL}`);
    expect(exportNode(f, "e0", "r0", true)).toBe("ok");
    expect(f.edge("r0", "file")).toBe("perm=write,consistent-read shared=write-unchanged,write,consistent-read");
    expect(f.edge("BB", "root")).toBe("perm=write,consistent-read shared=write-unchanged,write,consistent-read");
  });

  it("raw with offset is a DATA child: resize is never shared", () => {
    f.ok("blockdev-add", { driver: "raw", "node-name": "r0", offset: 512, file: { driver: "file", filename: "raw.img" } });
    expect(f.edge("r0", "file")).toBe("perm= shared=write-unchanged,write,consistent-read");
  });

  it("qcow2 rw takes write+resize on its file and reads its implicit read-only backing", () => {
    f.ok("blockdev-add", { driver: "qcow2", "node-name": "q0", file: { driver: "file", filename: "top.qcow2" } });
    expect(f.edge("q0", "file")).toBe("perm=resize,write,consistent-read shared=write-unchanged,consistent-read");
    expect(f.edge("q0", "backing")).toBe(`perm= shared=${ALL}`);
    expect(f.edge("q0/backing", "file")).toBe("perm=consistent-read shared=write-unchanged,consistent-read");
    expect(exportNode(f, "e0", "q0", false)).toBe("ok");
    expect(f.edge("q0", "backing")).toBe(`perm=consistent-read shared=${ALL}`);
  });

  it("read-only qcow2 only reads its file", () => {
    f.ok("blockdev-add", { driver: "qcow2", "node-name": "q0", "read-only": true, file: { driver: "file", filename: "base.qcow2" } });
    expect(f.edge("q0", "file")).toBe("perm=consistent-read shared=write-unchanged,consistent-read");
  });

  it("copy-on-read always takes write-unchanged", () => {
    f.ok("blockdev-add", { driver: "qcow2", "node-name": "q0", file: { driver: "file", filename: "base.qcow2" } });
    f.ok("blockdev-add", { driver: "copy-on-read", "node-name": "c0", file: "q0" });
    expect(f.edge("c0", "file")).toBe(`perm=write-unchanged shared=${ALL}`);
    expect(f.edge("q0", "file")).toBe("perm=resize,write-unchanged,write,consistent-read shared=write-unchanged,consistent-read");
  });

  it("throttle and compress pass their parents' perms through", () => {
    f.ok("object-add", { "qom-type": "throttle-group", id: "tg" });
    f.ok("blockdev-add", { driver: "raw", "node-name": "r0", file: { driver: "file", filename: "raw.img" } });
    f.ok("blockdev-add", { driver: "throttle", "node-name": "t0", "throttle-group": "tg", file: "r0" });
    expect(f.edge("t0", "file")).toBe(`perm= shared=${ALL}`);
    expect(exportNode(f, "e0", "t0", true)).toBe("ok");
    expect(f.edge("t0", "file")).toBe("perm=write,consistent-read shared=write-unchanged,write,consistent-read");
    expect(f.edge("r0", "file")).toBe("perm=write,consistent-read shared=write-unchanged,write,consistent-read");
  });

  it("blkdebug adds take-child-perms and removes unshare-child-perms on its image child", () => {
    f.ok("blockdev-add", {
      driver: "blkdebug",
      "node-name": "d0",
      "take-child-perms": ["resize"],
      "unshare-child-perms": ["write"],
      image: { driver: "file", filename: "raw.img" },
    });
    expect(f.edge("d0", "image")).toBe("perm=resize shared=resize,write-unchanged,consistent-read");
  });

  it("preallocate grabs write and resize only when its users hold both", () => {
    f.ok("blockdev-add", {
      driver: "qcow2",
      "node-name": "q0",
      file: { driver: "preallocate", "node-name": "p0", file: { driver: "file", filename: "base.qcow2" } },
    });
    expect(f.edge("q0", "file")).toBe("perm=resize,write,consistent-read shared=write-unchanged,consistent-read");
    expect(f.edge("p0", "file")).toBe("perm=resize,write,consistent-read shared=write-unchanged,consistent-read");
  });

  it("the COW child shares write only when the parent's users share it", () => {
    f.ok("blockdev-add", { driver: "qcow2", "node-name": "q0", file: { driver: "file", filename: "top.qcow2" } });
    f.ok("blockdev-add", {
      driver: "blkdebug",
      "node-name": "d0",
      "take-child-perms": ["consistent-read"],
      "unshare-child-perms": ["write"],
      image: "q0",
    });
    expect(f.edge("q0", "backing")).toBe("perm=consistent-read shared=write-unchanged,consistent-read");
  });

  it("force-share on a read-only child shares everything", () => {
    f.ok("blockdev-add", {
      driver: "qcow2",
      "node-name": "q0",
      "read-only": true,
      "force-share": true,
      file: { driver: "file", filename: "base.qcow2" },
    });
    expect(f.edge("q0", "file")).toBe(`perm=consistent-read shared=${ALL}`);
  });
});
