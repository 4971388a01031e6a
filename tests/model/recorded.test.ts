/**
 * Replays every recorded QMP fixture (tests/fixtures/qmp/*.jsonl, answered by real
 * qemu-storage-daemon 7.2.22) against the model and requires the same normalized replies, step by
 * step, and then byte-identical reply JSON apart from QEMU's random auto-name digits. Needs no QEMU: the fixtures are checked in. Re-record with `npx tsx scripts/record-fixtures.ts`.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createEngine } from "../../src/engines/create.js";
import { firstDifference, formatDifference } from "../differential/compare.js";
import { withEngine } from "../differential/engines.js";
import { readFixture } from "../differential/fixture-file.js";
import { replaySteps } from "../differential/run-steps.js";

const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/qmp");
const files = readdirSync(fixturesDir).filter((f) => f.endsWith(".jsonl")).sort();

/** A labeller for one run: `#block123`-style names become `#auto1`, `#auto2`… by first appearance. */
function labelAutoNames(): (text: string) => string {
  const labels = new Map<string, string>();
  return (text) =>
    text.replace(/#block\d{3,}/g, (name) => {
      if (!labels.has(name)) labels.set(name, `#auto${labels.size + 1}`);
      return labels.get(name)!;
    });
}

describe("model replays recorded QEMU 7.2 fixtures", () => {
  it("has fixtures to replay", () => {
    expect(files.length).toBeGreaterThan(30);
  });

  for (const file of files) {
    const fixture = readFixture(path.join(fixturesDir, file));
    it(`${fixture.meta.name}: ${fixture.meta.title}`, async () => {
      const replayed = await withEngine(() => createEngine("model"), (engine, workdir) => replaySteps(engine, workdir, fixture.steps));
      const diff = firstDifference(fixture.steps, replayed);
      expect(diff && formatDifference(diff, { expected: `qemu (${file})`, actual: "model" }), "model and QEMU disagree").toBeUndefined();
      // Beyond the normalized comparison: every reply is the same JSON text, key order and all
      // query fields included, once QEMU's random auto names are labelled by first appearance.
      const qemuText = labelAutoNames();
      const modelText = labelAutoNames();
      fixture.steps.forEach((step, i) => {
        const got = replayed[i];
        if (step.kind !== "qmp" || got?.kind !== "qmp") return;
        expect(modelText(JSON.stringify(got.reply)), `step ${i + 1} (${step.execute}) as raw JSON`).toBe(qemuText(JSON.stringify(step.reply)));
      });
    });
  }
});
