/**
 * Records what real QEMU 7.2 prints for the sessions in sessions.ts (HMP qemu-io on qemu-system),
 * and how the images end up (sha256, `qemu-img check`), into fixtures/outputs.json.
 * Run: npx tsx tests/model/qemu-io/record-outputs.ts
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { QemuEngine } from "../../../src/engines/qemu/qemu-engine.js";
import { runSession, type SessionRecord } from "./run-session.js";
import { SESSIONS } from "./sessions.js";

const records: SessionRecord[] = [];
for (const session of SESSIONS) {
  const workdir = mkdtempSync(join(tmpdir(), "bc-record-io-"));
  const engine = new QemuEngine();
  try {
    await engine.start({ workdir, features: new Set(["io"]) });
    const record = await runSession(engine, session, workdir);
    await engine.stop();
    for (const image of session.images) {
      const path = join(workdir, image.path);
      record.images[image.path] = {
        sha256: createHash("sha256").update(readFileSync(path)).digest("hex"),
        check: image.format === "qcow2" ? execFileSync("qemu-img", ["check", "-f", "qcow2", path], { encoding: "utf8", cwd: workdir }).replaceAll(workdir, "$W") : "",
      };
    }
    records.push(record);
  } finally {
    await engine.stop();
    rmSync(workdir, { recursive: true, force: true });
  }
}
const version = execFileSync("qemu-system-x86_64", ["--version"], { encoding: "utf8" }).split("\n")[0];
writeFileSync(new URL("./fixtures/outputs.json", import.meta.url), `${JSON.stringify({ recordedWith: version, sessions: records }, null, 1)}\n`);
console.log(`recorded ${records.length} sessions with ${version}`);
