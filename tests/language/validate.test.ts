import { describe, expect, it } from "vitest";
import { loadScenario } from "../../src/language/index.js";
import { problems } from "./helpers.js";

describe("validation rules", () => {
  it("a valid scenario has no diagnostics", () => {
    expect(
      problems(
        [
          'scenario "ok"',
          "image top.qcow2 qcow2 1M",
          "add top: qcow2 file=(file filename=top.qcow2)",
          "reopen top read-only=on",
          "expect ro top/file",
          "del top",
          "expect gone top",
        ].join("\n"),
      ),
    ).toEqual([]);
  });

  it("unknown driver, in adds and inline children, with did-you-mean", () => {
    const d = loadScenario("add a: qcw2 file=(fille filename=x)", "t.scn").diagnostics;
    expect(d.map((x) => [x.message, x.notes])).toEqual([
      ["unknown driver 'qcw2'", ["did you mean 'qcow2'?"]],
      ["unknown driver 'fille'", ["did you mean 'file'?"]],
    ]);
  });

  it("unknown option, checked against each child's own driver", () => {
    expect(problems("add a: qcow2 file=(file filenme=x) lazy-refcount=on")).toEqual([
      "1:25 unknown option 'filenme' for driver 'file'",
      "1:36 unknown option 'lazy-refcount' for driver 'qcow2'",
    ]);
    expect(problems("add a: raw file.driver=file file.filenam=x")).toEqual(["1:29 unknown option 'file.filenam' for driver 'file'"]);
    expect(problems("add a: null-co node-name=b")).toEqual(["1:16 unknown option 'node-name' for driver 'null-co'"]);
    expect(problems("add a: null-co\nreopen a sise=1M")).toEqual(["2:10 unknown option 'sise' for driver 'null-co'"]);
    expect(problems("image a.raw raw 1M backing_fmt=raw")).toEqual(["1:20 unknown option 'backing_fmt' for a raw image"]);
    expect(problems("image a.raw vhd 1M")).toEqual(["1:13 unknown image format 'vhd'"]);
    expect(problems("add a: null-co\nexport a writeable=on")).toEqual(["2:10 unknown option 'writeable' for export"]);
  });

  it("nodes: unknown, used after del, duplicated (inline names too)", () => {
    expect(problems("reopen top read-only=on")).toEqual(["1:8 unknown node 'top'"]);
    expect(problems("add a: null-co\ndel a\nexpect ro a")).toEqual(["3:11 node 'a' is used after it was deleted"]);
    expect(problems("add a: null-co\nadd b: raw file=(a: null-co)")).toEqual(["2:18 duplicate node name 'a'"]);
    expect(problems("add a: raw file=nosuch")).toEqual(["1:17 unknown node 'nosuch'"]);
    expect(problems("add a: raw file=(a: null-co)")).toEqual(["1:18 duplicate node name 'a'"]);
    expect(problems("add a: raw file=(f: file filename=x)\ndel a\nexpect exists f")).toEqual([
      "3:15 node 'f' is used after it was deleted",
    ]);
  });

  it("statements written to fail may break node and driver rules", () => {
    expect(
      problems(
        [
          'add a: nosuchdrv -> error "Parameter \'driver\' does not accept value \'nosuchdrv\'"',
          "add b: null-co",
          'add b: null-co -> error "Duplicate nodes with node-name=\'b\'"',
          "del zz -> error /Failed to find/",
          "expect gone a",
        ].join("\n"),
      ),
    ).toEqual([]);
  });

  it("exports: unexport and export parents need a live export id", () => {
    expect(problems("add a: null-co\nexport a id=e0\nunexport e1\nexpect edge export e9 -root-> a")).toEqual([
      "3:10 unknown export 'e1'",
      "4:13 unknown export 'e9'",
    ]);
    expect(problems("add a: null-co\nexport a\nunexport a")).toEqual([]);
    expect(problems("add a: null-co\nexport a id=x\nunexport a\nunexport x")).toEqual(["4:10 unknown export 'x'"]);
    expect(problems("add a: raw file=(file filename=f)\nexport a/file\nexpect edge export e0 -root-> a/file")).toEqual([]);
    expect(problems("add a: null-co\nexport a id=x\nexport a id=x")).toEqual(["3:13 duplicate export id 'x'"]);
  });

  it("paths may not leave the scratch directory", () => {
    expect(problems("image /tmp/x.qcow2 qcow2 1M")).toEqual(["1:7 absolute path '/tmp/x.qcow2' escapes the scratch directory"]);
    expect(problems("image a.qcow2 qcow2 1M backing=../b.qcow2")).toEqual(["1:32 path '../b.qcow2' escapes the scratch directory"]);
    // A backing file name is taken from the image's directory, as qemu-img takes it.
    expect(problems("image d2/a.qcow2 qcow2 1M backing=../d1/b.qcow2")).toEqual([]);
    expect(problems("image d2/a.qcow2 qcow2 1M backing=../../b.qcow2")).toEqual(["1:35 path '../../b.qcow2' escapes the scratch directory"]);
    expect(problems("add f: file filename=sub/../../x")).toEqual(["1:22 path 'sub/../../x' escapes the scratch directory"]);
    expect(problems('add f: raw file=(file filename="/etc/passwd")')).toEqual([
      "1:32 absolute path '/etc/passwd' escapes the scratch directory",
    ]);
    expect(problems('qmp blockdev-add {"driver": "file", "node-name": "f", "filename": "/x"}')).toEqual([
      "1:18 absolute path '/x' escapes the scratch directory",
    ]);
    expect(problems('qmp blockdev-add {"driver": "file", "node-name": "f", "filename": "x"}')).toEqual([
      "1:18 qmp filename 'x' is not in the scratch directory",
    ]);
    expect(problems('qmp blockdev-add {"driver": "file", "node-name": "f", "filename": "$TEST_DIR/../x"}')).toEqual([
      "1:18 path '../x' escapes the scratch directory",
    ]);
    expect(problems('qmp blockdev-add {"driver": "file", "node-name": "f", "filename": "$TEST_DIR/x"}')).toEqual([]);
    expect(problems("add f: file filename=sub/../x")).toEqual([]);
    // A backing file name goes into an image header and is resolved against the image's directory.
    const change = (name: string) => problems(`qmp change-backing-file {"device": "c", "image-node-name": "c", "backing-file": "${name}"}`);
    expect(change("base.qcow2")).toEqual([]);
    expect(change("$TEST_DIR/base.qcow2")).toEqual([]);
    // Repeated slashes name one directory (qemu-iotests 228 writes "$TEST_DIR//base").
    expect(change("$TEST_DIR//base.qcow2")).toEqual([]);
    expect(change("$TEST_DIR//../base.qcow2")).toEqual(["1:25 path '../base.qcow2' escapes the scratch directory"]);
    expect(change("../base.qcow2")).toEqual(["1:25 path '../base.qcow2' escapes the scratch directory"]);
    expect(change("/base.qcow2")).toEqual(["1:25 absolute path '/base.qcow2' escapes the scratch directory"]);
  });

  it("requirements come from a registry: unknown ones are errors", () => {
    expect(problems("require networking")).toEqual(["1:9 unknown requirement 'networking'"]);
    expect(problems("require drivr qcow2")).toEqual(["1:9 unknown requirement 'drivr'"]);
    expect(problems("require driver qcw2")).toEqual(["1:16 unknown driver 'qcw2'"]);
    expect(problems("require engine kvm")).toEqual(["1:16 unknown engine 'kvm'"]);
    expect(problems("require qemu => 7.2")).toEqual(["1:14 unknown version operator '=>'"]);
    expect(problems("require qemu >= seven")).toEqual(["1:17 'seven' is not a QEMU version"]);
    expect(problems("require io now")).toEqual(["1:12 'require io' takes no arguments"]);
    // Two requirements on one line: one error, with the fix, and none for the statements that need the second.
    const two = loadScenario('require jobs io\nadd a: null-co\nio a "read 0 1k"\nio a "read 0 1k"', "t.scn").diagnostics;
    expect(two.map((d) => [d.message, d.notes])).toEqual([["'require jobs' takes no arguments", ["write each requirement on a line of its own: 'require io'"]]]);
    expect(problems('require io jobs\nadd a: null-co\njob stream j a')).toEqual(["1:12 'require io' takes no arguments"]);
    // Names of the registry only: not what every object inherits.
    expect(loadScenario("require io toString", "t.scn").diagnostics.map((d) => d.notes)).toEqual([[]]);
    expect(problems("require driver qcow2 raw\nrequire engine qemu\nrequire qemu >= 7.2\nrequire io")).toEqual([]);
  });

  it("parameters: unknown $x, duplicate values, variable bound twice", () => {
    expect(problems("each fmt in qcow2 raw qcow2")).toEqual(["1:23 value 'qcow2' is listed twice for 'fmt'"]);
    expect(problems("each f in a\neach f in b")).toEqual(["2:6 parameter 'f' is bound twice"]);
    expect(problems("each fmt in raw\nimage x.$fnt $fmt 1M")).toEqual(["2:7 unknown parameter '$fnt'"]);
    expect(problems('qmp x {"a": "$TEST_DIR/x $$"} -> error "x"')).toEqual([]);
    // A parameter standing alone as a JSON value, where the JSON is.
    expect(problems('each size in 1M\nqmp x {"a": $size, "b": [$sise]} -> error "x"')).toEqual(["2:7 unknown parameter '$sise'"]);
    // An image's size may be a parameter; its values must be sizes.
    expect(problems("each size in 64k 1M\nimage x.raw raw $size")).toEqual([]);
    expect(problems("each size in 1M big\nimage x.raw raw $size")).toEqual(["2:17 image size 'big' is not a number of bytes"]);
    expect(problems("each size in 1M -1\nimage x.raw raw $size")).toEqual(["2:17 image size -1 is negative"]);
    expect(problems("image x.raw raw $sise")).toEqual(["1:17 unknown parameter '$sise'"]);
  });

  it("expectations only after commands, and regexes must compile", () => {
    expect(problems('scenario "x" -> ok')).toEqual(["1:14 an expectation cannot apply to 'scenario'"]);
    expect(problems("add a: null-co\nexpect ro a -> ok")).toEqual(["2:13 an expectation cannot apply to 'expect'"]);
    expect(problems("graph {\n  a: null-co\n} -> ok")).toEqual(["3:3 an expectation cannot apply to 'graph'"]);
    expect(problems("del a -> error /(unclosed/")).toEqual(["1:16 invalid regular expression: /(unclosed/: Unterminated group"]);
  });

  it("permission names in expect edge", () => {
    expect(problems("add a: null-co\nadd b: raw file=a\nexpect edge b -file-> a perm=write,wirte shared=[resize, resize]")).toEqual([
      "3:36 unknown permission 'wirte'",
      "3:58 permission 'resize' is listed twice",
    ]);
  });

  it("io needs 'require io'; a scenario has one title; tags once", () => {
    expect(problems('add a: null-co\nio a "read 0 1k"')).toEqual(["2:1 'io' needs 'require io' in the scenario"]);
    expect(problems('scenario "a"\nscenario "b"')).toEqual(["2:1 a scenario has one title"]);
    expect(problems("tags a b a")).toEqual(["1:10 tag 'a' is listed twice"]);
  });

  it("reports a syntax error and a semantic one in the same file", () => {
    expect(problems('scenario "x"\nadd a: null-co\nadd b raw\n\n\n\n\n\nreopen zz read-only=on')).toEqual([
      "3:7 unexpected 'raw'",
      "9:8 unknown node 'zz'",
    ]);
  });
});
