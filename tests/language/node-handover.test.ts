/**
 * An inline child handed between parents in one blockdev-reopen: QEMU looks every reference up
 * before the transaction changes anything and drops a replaced child only when it commits, so
 * another entry of the same reopen may take it by name (qemu-iotests 245's test_swap_files and
 * replace_file). Checked on QEMU 7.2 by tests/scenarios/reopen/swap-inline-files.scn.
 */
import { describe, expect, it } from "vitest";
import { problems } from "./helpers.js";

const SETUP = [
  "image a.img raw 1M",
  "image b.img raw 1M",
  "image c.img raw 1M",
  "add hd0: raw file=(hd0-file: file filename=a.img)",
  "add hd2: raw file=(hd2-file: file filename=b.img)",
  "add spare: file filename=c.img",
];

function check(...lines: string[]): string[] {
  return problems([...SETUP, ...lines].join("\n")).map((p) => p.replace(/^(\d+)/, (n) => String(Number(n) - SETUP.length)));
}

describe("an inline child handed over in one reopen", () => {
  it("two nodes may swap their inline children, in either order", () => {
    const swap = ["reopen {", "  hd0 file=hd2-file", "  hd2 file=hd0-file", "}"];
    expect(check(...swap, "expect edge hd2 -file-> hd0-file", "expect edge hd0 -file-> hd2-file")).toEqual([]);
    expect(check("reopen {", "  hd2 file=hd0-file", "  hd0 file=hd2-file", "}", "expect exists hd0-file", "expect exists hd2-file")).toEqual([]);
  });

  it("a child one entry drops and another takes lives on with its new parent, and goes with it", () => {
    const handover = ["reopen {", "  hd0 file=spare", "  hd2 file=hd0-file", "}"];
    // hd2's own child is the one freed; hd0-file now belongs to hd2.
    expect(check(...handover, "expect exists hd0-file", "add hd2-file: file filename=b.img")).toEqual([]);
    expect(check(...handover, "del hd2", "add hd0-file: file filename=a.img")).toEqual([]);
    expect(check(...handover, "del hd0", "expect exists hd0-file")).toEqual([]);
  });

  it("a child that no entry takes is still freed when the reopen commits", () => {
    expect(check("reopen {", "  hd0 file=spare", "  hd2 read-only=on", "}", "expect exists hd0-file")).toEqual([
      "5:15 node 'hd0-file' is used after it was freed",
    ]);
  });
});
