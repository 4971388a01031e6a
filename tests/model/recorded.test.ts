/**
 * Replays every recorded QMP fixture (tests/fixtures/qmp/*.jsonl, answered by real
 * qemu-storage-daemon 7.2.22) against the model and requires the same normalized replies, step by
 * step, and then byte-identical reply JSON apart from QEMU's random auto-name digits. Needs no QEMU: the fixtures are checked in. Re-record with `npx tsx scripts/record-fixtures.ts`.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createEngine } from "../../src/engines/factory/create.js";
import { firstDifference, firstRawDifference, formatDifference } from "../differential/compare.js";
import { withEngine } from "../differential/engines.js";
import { readFixture } from "../differential/fixture-file.js";
import { LUKS_REPLY_RANDOM } from "../differential/gen-luks.js";
import { replaySteps } from "../differential/run-steps.js";

const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/qmp");
const files = readdirSync(fixturesDir).filter((f) => f.endsWith(".jsonl")).sort();

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
      // Beyond the normalized comparison: every reply is the same JSON text, key order and all query
      // fields included. actual-size is the host file system's allocation, recorded elsewhere; a
      // LUKS header's UUID is random and its iteration counts are timed on the host (qemu-img's).
      const raw = firstRawDifference(fixture.steps, replayed, new RegExp(`"actual-size": ?\\d+|${LUKS_REPLY_RANDOM.source}`, "g"));
      expect(raw && formatDifference(raw, { expected: `qemu (${file})`, actual: "model" }), "reply JSON differs").toBeUndefined();
    });
  }
});
