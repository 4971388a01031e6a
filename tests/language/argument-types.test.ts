/**
 * An `add` or `qmp` that must succeed is checked with QEMU's QAPI visitor before it runs: what the
 * visitor refuses is reported at the option that holds it, with QEMU's own message.
 */
import { describe, expect, it } from "vitest";
import { problems } from "./helpers.js";

const FILE = "image a.raw raw 1M\nadd f: file filename=a.raw\n";

describe("argument types", () => {
  it("reports values of the wrong type, also inside JSON option values", () => {
    expect(
      problems(
        FILE +
          'add d: blkdebug image=f inject-error=[{"event": "read_aio", "iotype": ["read"]}]\n' +
          "add f2: file filename=a.raw read-only=maybe\n" +
          "add q: qcow2 file=(file filename=a.raw aio=bogus)\n",
      ),
    ).toEqual([
      "3:38 blockdev-add would fail: Invalid parameter type for 'inject-error[0].iotype', expected: string",
      "4:39 blockdev-add would fail: Invalid parameter type for 'read-only', expected: boolean",
      "5:44 blockdev-add would fail: Parameter 'aio' does not accept value 'bogus'",
    ]);
  });

  it("reports a missing member, and a member QEMU does not know inside a JSON value", () => {
    expect(problems(FILE + "add q: qcow2\n")).toEqual(["3:8 blockdev-add would fail: Parameter 'file' is missing"]);
    expect(problems(FILE + 'add d: blkdebug image=f inject-error=[{"event": "read_aio", "bogus": 1}]\n')).toEqual([
      "3:38 blockdev-add would fail: Parameter 'inject-error[0].bogus' is unexpected",
    ]);
  });

  it("locates a member QEMU names by its last name only inside the JSON value holding it", () => {
    expect(problems(FILE + 'add d: blkdebug image=f inject-error=[{"event": "nonesuch"}]\n')).toEqual([
      "3:38 blockdev-add would fail: Parameter 'event' does not accept value 'nonesuch'",
    ]);
  });

  it("leaves an unknown option key to unknown-option, and a step written to fail alone", () => {
    expect(problems(FILE + "add f2: file filename=a.raw aoi=native\n")).toEqual(["3:29 unknown option 'aoi' for driver 'file'"]);
    expect(problems(FILE + 'add f2: file filename=a.raw aio=bogus -> error "Parameter \'aio\' does not accept value \'bogus\'"\n')).toEqual([]);
    expect(problems(FILE + 'qmp block_resize {"node-name": "f", "size": "1M"} -> error "Invalid parameter type for \'size\', expected: integer"\n')).toEqual([]);
  });

  it("accepts node references, paths, on/off and sizes as the runner sends them", () => {
    expect(
      problems(
        "image a.qcow2 qcow2 1M\n" +
          "add q: qcow2 file=(f: file filename=a.qcow2 aio=threads) read-only=on discard=unmap detect-zeroes=off cache.direct=off\n" +
          "add r: raw file=q/file offset=4k size=64k\n",
      ),
    ).toEqual([]);
  });

  it("reports an option given twice", () => {
    expect(problems(FILE + "add f2: file filename=a.raw aio=native aio=threads\n")).toEqual(["3:40 option 'aio' is given twice"]);
  });

  it("checks qmp: a command QEMU lacks, and arguments the visitor refuses", () => {
    expect(problems(FILE + "qmp query-blocky\n")).toEqual(["3:5 QEMU 7.2 has no QMP command 'query-blocky'"]);
    expect(problems(FILE + 'qmp block_resize {"node-name": "f", "size": "1M"}\n')).toEqual([
      "3:18 qmp 'block_resize' would fail: Invalid parameter type for 'size', expected: integer",
    ]);
    // qemu-system's own commands are not in the daemon's schema: they are left to the run.
    expect(problems("require io\n" + FILE + 'qmp query-cpus-fast\n')).toEqual([]);
  });
});
