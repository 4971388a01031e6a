/**
 * drive-backup and drive-mirror with mode=existing onto a file that is not there: bdrv_open_inherit
 * opens the protocol node before it probes a format, so with a format or without one QEMU 7.2 fails
 * in file-posix's open ("Could not open ..."). The model refused the case without a format, taking
 * the unreadable file for one that probes as raw.
 */
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../../support/qemu.js";
import { inlineRunner } from "../../support/run-inline.js";

const run = inlineRunner(20_000);

const text = [
  'scenario "a copy onto a missing existing target"',
  "require jobs",
  "image a.qcow2 qcow2 1M",
  "add d0: qcow2 file=(file filename=a.qcow2)",
  ...["drive-backup", "drive-mirror"].flatMap((command) =>
    ["", ', "format": "qcow2"'].map(
      (format) =>
        `qmp ${command} {"device": "d0", "target": "$TEST_DIR/missing.qcow2", "sync": "full", "mode": "existing"${format}, "job-id": "j0"} -> error "Could not open '$TEST_DIR/missing.qcow2': No such file or directory"`,
    ),
  ),
  "show graph",
  "",
].join("\n");

describe("a copy onto a missing existing target, on the model", () => {
  it("fails in the file's open, with a format or without", async () => {
    const r = await run(text, new ModelEngine());
    expect(r.failures).toEqual([]);
  });
});

describeWithQemu("a copy onto a missing existing target, on QEMU", () => {
  it("gives the model's transcript", { timeout: 30_000 }, async () => {
    const qemu = await run(text, new QemuEngine());
    expect(qemu.failures).toEqual([]);
    expect(qemu.transcript).toBe((await run(text, new ModelEngine())).transcript);
  });
});
