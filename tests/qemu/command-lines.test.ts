import { describe, expect, it } from "vitest";
import { QemuIoError, qemuIoCommandLine } from "../../src/engines/qemu/hmp-qemu-io.js";
import { qemuImgCreateArgs } from "../../src/engines/qemu/images.js";
import { escapeOptionValue, monitorArgs } from "../../src/engines/qemu/monitor-args.js";

describe("command lines", () => {
  it("quotes a qemu-io command for HMP and refuses what HMP cannot carry", () => {
    expect(qemuIoCommandLine("disk", "write -P 0xa5 0 64k")).toBe('qemu-io disk "write -P 0xa5 0 64k"');
    expect(qemuIoCommandLine("disk", 'a"b\\c')).toBe('qemu-io disk "a\\"b\\\\c"');
    expect(() => qemuIoCommandLine("two words", "read 0 1")).toThrow(QemuIoError);
    expect(() => qemuIoCommandLine("disk", "read 0 1\nquit")).toThrow(/one line/);
  });

  it("builds qemu-img create with an optional backing file and format", () => {
    expect(qemuImgCreateArgs({ path: "a.raw", format: "raw", size: 1024 })).toEqual(["create", "-q", "-f", "raw", "a.raw", "1024"]);
    expect(
      qemuImgCreateArgs({ path: "t.qcow2", format: "qcow2", size: 1 << 20, backingFile: "b.qcow2", backingFormat: "qcow2" }),
    ).toEqual(["create", "-q", "-f", "qcow2", "-b", "b.qcow2", "-F", "qcow2", "t.qcow2", "1048576"]);
  });

  it("connects the monitor to our socket, escaping commas in its path", () => {
    expect(escapeOptionValue("/a,b/c")).toBe("/a,,b/c");
    expect(monitorArgs("qsd", "/s,1/qmp.sock")).toEqual([
      "--chardev",
      "socket,id=mon0,path=/s,,1/qmp.sock,server=off",
      "--monitor",
      "chardev=mon0",
    ]);
    expect(monitorArgs("qemu", "/s/qmp.sock")).toEqual([
      "-M", "none", "-nodefaults", "-display", "none",
      "-chardev", "socket,id=mon0,path=/s/qmp.sock,server=off",
      "-mon", "chardev=mon0,mode=control",
    ]);
  });
});
