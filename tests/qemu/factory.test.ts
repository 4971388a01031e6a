/** The qemu engine through the generic factory, as `blockcheck qmp --engine qemu` gets it. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { createEngine } from "../../src/engines/factory/create.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";

describeWithQemu("createEngine('qemu')", () => {
  it("makes a QemuEngine that honours the factory's qemu options", async () => {
    const workdir = mkdtempSync(join(tmpdir(), "bc-qemu-test-"));
    const e = createEngine("qemu", { qemu: { callTimeoutMs: 5_000 } });
    expect(e).toBeInstanceOf(QemuEngine);
    try {
      await e.start({ workdir });
      expect(e.describe().version.major).toBe(7);
      expect(await e.qmp("query-named-block-nodes")).toEqual({ return: [] });
    } finally {
      await e.stop();
      rmSync(workdir, { recursive: true, force: true });
    }
  });
});
