/**
 * The differential harness checked against itself: QEMU replayed on a second QEMU must agree even
 * though every auto name differs, so any model/QEMU difference reported elsewhere is real.
 */
import { expect, it } from "vitest";
import { describeWithQemu } from "../support/qemu.js";
import { formatFailure } from "./differential-report.js";
import { qemuEngine } from "./engines.js";
import { sequenceSeed } from "../../src/fuzz/prng.js";
import { runCase } from "./run-differential.js";

describeWithQemu("differential harness: QEMU against QEMU", () => {
  it("agrees with itself on generated sequences", { timeout: 120_000 }, async () => {
    for (let i = 0; i < 12; i++) {
      const o = await runCase(sequenceSeed(7, i), { qemu: qemuEngine, model: qemuEngine });
      expect(o.qemu.length).toBeGreaterThan(10);
      expect(o.difference || o.modelError || o.qemuCrash ? formatFailure(o) : "").toBe("");
    }
  });
});
