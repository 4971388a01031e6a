/**
 * Which node a failed reopen names: QEMU 7.2 checks the nodes in bdrv_topological_dfs order over
 * the whole graph below the reopened nodes, and reports the first that fails. The model checks only
 * the nodes whose permissions may change, but in QEMU's order: a reopened node below a clean one
 * (`f0` under the unchanged `q1`) comes after it, whatever the order of the reopen list.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(20_000);

const TEXT = [
  'scenario "two read-only failures, one below a clean node"',
  "image a.qcow2 qcow2 1M",
  "add f0: file filename=a.qcow2",
  "add q1: qcow2 file=f0",
  "add r3: raw file=q1",
  "add c4: copy-on-read file=r3",
  "reopen {",
  "  r3 read-only=on",
  "  f0 read-only=on",
  "} -> error \"Read-only block node 'r3' cannot support read-write users\"",
  "reopen {",
  "  f0 read-only=on",
  "  r3 read-only=on",
  "} -> error \"Read-only block node 'r3' cannot support read-write users\"",
  "",
].join("\n");

describe("the node a failed reopen names, on the model", () => {
  it("is the first failing node in QEMU's order, through nodes whose permissions do not change", async () => {
    const r = await run(TEXT, new ModelEngine());
    expect(r.failures.filter((f) => f.kind !== "missing-golden")).toEqual([]);
  });
});

describeWithQemu("the node a failed reopen names, on QEMU", () => {
  it("is the same", async () => {
    const [model, qemu] = [await run(TEXT, new ModelEngine()), await run(TEXT, new QemuEngine())];
    expect(qemu.failures.filter((f) => f.kind !== "missing-golden")).toEqual([]);
    expect(model.transcript).toBe(qemu.transcript);
  }, 30_000);
});
