/** `blockcheck graph` in its three formats, driven as a user runs it. */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { blockcheck } from "../support/cli.js";
import { describeWithQemu } from "../support/qemu.js";
import { svgTexts } from "./svg-check.js";

const DETACH = "tests/scenarios/reopen/detach-backing.scn";

describe("blockcheck graph", () => {
  it("--format svg writes a well-formed SVG that draws every node, its driver and ro/rw, and every edge", async () => {
    const r = await blockcheck(["graph", DETACH, "--format", "svg"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const texts = svgTexts(r.stdout);
    expect(texts).toEqual(expect.arrayContaining(["top", "qcow2, rw", "top/file", "file, rw"]));
    expect(texts).toEqual(
      expect.arrayContaining(["file", "perm=[consistent-read, write, resize]", "shared=[consistent-read, write-unchanged]"]),
    );
  });

  it("the checker rejects broken XML (so the test above can fail)", () => {
    expect(() => svgTexts('<svg xmlns="http://www.w3.org/2000/svg"><text>a</svg>')).toThrow(/not well-formed/);
    expect(() => svgTexts("<html/>")).toThrow(/not <svg>/);
  });

  it("--format dot is the same text on every run", async () => {
    const first = await blockcheck(["graph", DETACH, "--format", "dot"]);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(
      [
        'digraph "reopen/detach-backing" {',
        '  graph [rankdir=TB, fontname="Courier", fontsize=12];',
        '  node [fontname="Courier", fontsize=12, shape=box, style="rounded,filled", fillcolor=white];',
        '  edge [fontname="Courier", fontsize=10];',
        '  "top" [label="top\\nqcow2, rw"];',
        '  "top/file" [label="top/file\\nfile, rw"];',
        '  "top" -> "top/file" [label="file\\lperm=[consistent-read, write, resize]\\lshared=[consistent-read, write-unchanged]\\l"];',
        "}",
        "",
      ].join("\n"),
    );
    expect((await blockcheck(["graph", DETACH, "-f", "dot"])).stdout).toBe(first.stdout);
  });

  it("--format text (the default) prints the transcript's 'show graph' lines", async () => {
    const r = await blockcheck(["graph", DETACH]);
    expect(r.stdout).toBe("top -file-> top/file  perm=[consistent-read, write, resize]  shared=[consistent-read, write-unchanged]\n");
  });

  it("draws each parameter value of a scenario in a cluster of its own, in one document", async () => {
    const r = await blockcheck(["graph", "tests/scenarios/language/parameters.scn", "--format", "dot"]);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^digraph /gm)).toHaveLength(1);
    expect(r.stdout).toContain('subgraph "cluster_0" {\n    label="language/parameters[fmt=qcow2]";');
    expect(r.stdout).toContain('subgraph "cluster_1" {\n    label="language/parameters[fmt=raw]";');
  });

  it("--output FILE writes the picture there and nothing to stdout", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "bc-graph-"));
    try {
      const file = path.join(dir, "pictures/detach.svg");
      const r = await blockcheck(["graph", DETACH, "--format", "svg", "--output", file]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("");
      expect(svgTexts(await readFile(file, "utf8"))).toContain("top/file");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("an unknown format is a usage error with a suggestion", async () => {
    const r = await blockcheck(["graph", DETACH, "--format", "svgg"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--format must be text, dot, svg (got 'svgg'); did you mean 'svg'?");
  });
});

describeWithQemu("blockcheck graph on real QEMU", () => {
  it("draws the same DOT as the model: nothing in it comes from one engine", async () => {
    const scenario = "tests/scenarios/export/writable-under-qcow2.scn";
    const qemu = await blockcheck(["graph", scenario, "--engine", "qemu", "--format", "dot"], { env: process.env });
    expect(qemu.code).toBe(0);
    expect(qemu.stdout).toContain('"export e2" -> "q0"');
    expect(qemu.stdout).toBe((await blockcheck(["graph", scenario, "--format", "dot"])).stdout);
  });
});
