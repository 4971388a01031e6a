/** A fixed results model for reporter tests: pass, fail (with hostile characters), skip. */
import type { RunSummary, ScenarioResult } from "../../src/runner/results.js";

export const passed: ScenarioResult = {
  id: "reopen/detach[fmt=qcow2] (model)",
  file: "tests/scenarios/reopen/detach.scn",
  name: "reopen/detach",
  suffix: "fmt=qcow2",
  engine: "model",
  title: "detach",
  tags: ["reopen"],
  status: "pass",
  durationMs: 12,
  failures: [],
  golden: { file: "golden/reopen/detach.fmt=qcow2.out", status: "match" },
};

export const failed: ScenarioResult = {
  id: "perms/<odd> & \"name\" #1 (qemu)",
  file: "tests/scenarios/perms/odd.scn",
  name: "perms/<odd> & \"name\" #1",
  suffix: "",
  engine: "qemu",
  tags: [],
  status: "fail",
  durationMs: 1500,
  failures: [
    {
      kind: "expectation",
      message: "expected error \"x\", got error \"Permission conflict on 'f0' <&>\u0001\"",
      location: "tests/scenarios/perms/odd.scn:7",
      phase: "two writers",
      source: "add q1: qcow2 file=f0   -> error \"x\"",
    },
    { kind: "golden", message: "transcript differs from golden/perms/odd.out", diff: "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n" },
  ],
  scratchDir: "/tmp/blockcheck-abc",
};

export const skipped: ScenarioResult = {
  id: "io/write (model)",
  file: "tests/scenarios/io/write.scn",
  name: "io/write",
  suffix: "",
  engine: "model",
  tags: ["io"],
  status: "skip",
  durationMs: 1,
  failures: [],
  skipReason: "requires io; the model engine has no qemu-io",
};

export const summary: RunSummary = {
  results: [failed, skipped, passed],
  durationMs: 2345,
  orphans: ["golden/old.out"],
  pruned: false,
  engineSpecific: [{ file: "golden/io/write.model.out", reason: "no qemu-io" }],
  notRun: 0,
};

/** A string sink. */
export function sink(): { write(s: string): void; text: string } {
  const s = { text: "", write(chunk: string) { s.text += chunk; } };
  return s;
}
