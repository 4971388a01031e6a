/**
 * Record QMP fixtures from real qemu-storage-daemon.
 *
 *   npx tsx scripts/record-fixtures.ts            # every tests/fixtures/sequences/*.json
 *   npx tsx scripts/record-fixtures.ts r4 c10     # just these
 *
 * Each sequence runs on a fresh daemon in a fresh scratch directory; the commands as sent, QEMU's
 * replies and events go to tests/fixtures/qmp/NAME.jsonl with the scratch path written `$TEST_DIR`
 * and auto node names kept as recorded (with the path each was resolved from).
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { qemuEngine, withEngine } from "../tests/differential/engines.js";
import { readSequence, writeFixture } from "../tests/differential/fixture-file.js";
import { runSteps } from "../tests/differential/run-steps.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const sequencesDir = path.join(root, "tests/fixtures/sequences");
const fixturesDir = path.join(root, "tests/fixtures/qmp");

const all = readdirSync(sequencesDir).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -".json".length)).sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length > 0) {
  console.error(`record-fixtures: no sequence named ${unknown.join(", ")} (have: ${all.join(", ")})`);
  process.exit(2);
}

for (const name of wanted.length > 0 ? wanted : all) {
  const seq = readSequence(path.join(sequencesDir, `${name}.json`));
  const steps = await withEngine(qemuEngine, async (engine, workdir) => {
    const version = engine.describe().version;
    const recorded = await runSteps(engine, workdir, [...(seq.images ?? []), ...seq.steps]);
    return { version: `${version.major}.${version.minor}.${version.micro}`, recorded };
  });
  writeFixture(path.join(fixturesDir, `${name}.jsonl`), { meta: { kind: "meta", name, title: seq.title, qemu: steps.version }, steps: steps.recorded });
  const errors = steps.recorded.filter((s) => s.kind === "qmp" && "error" in s.reply).length;
  console.log(`${name}: ${steps.recorded.length} steps, ${errors} errors`);
}
