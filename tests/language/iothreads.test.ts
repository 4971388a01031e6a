/** The `iothread` statement, `expect context`, and the checker's knowledge of iothread ids. */
import { describe, expect, it } from "vitest";
import { only, problems } from "./helpers.js";

describe("iothreads in the language", () => {
  it("parses `iothread ID key=value…` and `expect context NODE ID|main`", () => {
    const s = only("iothread io0 poll-max-ns=0 aio-max-batch=4", "iothread");
    expect(s.id.name).toBe("io0");
    expect(s.options.map((o) => o.key)).toEqual(["poll-max-ns", "aio-max-batch"]);
    const e = only("expect context top/file main", "expect");
    expect(e.assertion).toMatchObject({ kind: "context", node: { root: "top", path: ["file"] }, context: { name: "main" } });
  });

  it("knows which iothreads exist at each statement, with did-you-mean", () => {
    const text = [
      "iothread io0",
      "iothread io0",
      "add n0: null-co",
      "export n0 iothread=io1",
      "expect context n0 mian",
      "expect context n0 main",
      'qmp x-blockdev-set-iothread {"node-name": "n0", "iothread": "io2"}',
      'qmp object-add {"qom-type": "iothread", "id": "io2"}',
      'qmp x-blockdev-set-iothread {"node-name": "n0", "iothread": "io2"}',
      'qmp object-del {"id": "io2"}',
      "expect context n0 io2",
    ].join("\n");
    expect(problems(text)).toEqual([
      "2:10 duplicate iothread 'io0'",
      "4:20 unknown iothread 'io1'",
      "5:19 unknown iothread 'mian'",
      "7:29 unknown iothread 'io2' in x-blockdev-set-iothread",
      "11:19 unknown iothread 'io2'",
    ]);
  });

  it("lets statements written to fail name missing and duplicate iothreads", () => {
    const text = ["iothread io0", "iothread io0 -> error /duplicate/", "add n0: null-co", 'export n0 iothread=nosuch -> error "x"'].join("\n");
    expect(problems(text)).toEqual([]);
  });

  it("checks an iothread's options against its QOM properties", () => {
    expect(problems("iothread io0 poll-max=0 thread-pool-max=4")).toEqual(["1:14 unknown option 'poll-max' for 'iothread'"]);
  });

  it("checks the node of `expect context` like any other", () => {
    expect(problems("iothread io0\nexpect context n0 io0")).toEqual(["2:16 unknown node 'n0'"]);
  });
});
