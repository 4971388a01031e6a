/**
 * blockdev-create of vhdx on a file node another node also uses: vhdx_create_new_headers writes
 * past its BlockBackend through the file node's first parent edge and asserts that it is the only
 * one, so QEMU 7.2 aborts in the job (the model completed it).
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(20_000);

const text = [
  'scenario "vhdx made on a file node with another parent"',
  "require jobs",
  "image f.img raw 0",
  "add f: file filename=f.img",
  "add u: raw file=f read-only=on",
  'qmp blockdev-create {"job-id": "j", "options": {"driver": "vhdx", "file": "f", "size": 1048576}}',
  "wait j concluded",
  "qmp query-jobs",
  "",
].join("\n");

describe("vhdx made on a shared file node, on the model", () => {
  it("aborts in vhdx_create_new_headers", async () => {
    const r = await run(text, new ModelEngine());
    expect(r.transcript).toContain("QEMU crashed: SIGABRT\n(run stopped)\n");
    expect(r.failures[0]!.message).toContain("vhdx_create_new_headers: Assertion `!QLIST_NEXT(child, next_parent)' failed.");
  });
});

describeWithQemu("vhdx made on a shared file node, on QEMU", () => {
  it("ends the way the model says", { timeout: 30_000 }, async () => {
    const qemu = await run(text, new QemuEngine());
    expect(qemu.transcript).toBe((await run(text, new ModelEngine())).transcript);
  });
});
