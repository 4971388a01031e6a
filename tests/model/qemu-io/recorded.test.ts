/**
 * The model against real QEMU 7.2's qemu-io, as recorded in fixtures/outputs.json (see
 * record-outputs.ts): every session gives the same output, timings aside, and leaves image files
 * byte for byte like QEMU's; `qemu-img check` finds them clean.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModelEngine } from "../../../src/engines/model/model-engine.js";
import { normalizeIoOutput } from "../../../src/transcript/normalize.js";
import { qemuAvailable } from "../../support/qemu.js";
import { runSession, type SessionRecord } from "./run-session.js";
import { SESSIONS } from "./sessions.js";

const recorded = JSON.parse(readFileSync(new URL("./fixtures/outputs.json", import.meta.url), "utf8")) as { sessions: SessionRecord[] };

/** What a transcript keeps of an output: timings removed. */
const comparable = (steps: SessionRecord["steps"]) => steps.map((s) => ("output" in s ? { ...s, output: normalizeIoOutput(s.output) } : s));

describe("qemu-io on the model, against QEMU 7.2's recorded output", () => {
  it("has a recording for every session", () => {
    expect(recorded.sessions.map((s) => s.title)).toEqual(SESSIONS.map((s) => s.title));
  });

  for (const [i, session] of SESSIONS.entries()) {
    it(session.title, async () => {
      const workdir = mkdtempSync(join(tmpdir(), "bc-model-io-"));
      const engine = new ModelEngine();
      try {
        await engine.start({ workdir });
        const got = await runSession(engine, session, workdir);
        await engine.stop();
        // The model's images are in memory until asked for on disk.
        engine.writeFilesOut();
        const want = recorded.sessions[i]!;
        expect(comparable(got.steps)).toEqual(comparable(want.steps));
        for (const image of session.images) {
          const path = join(workdir, image.path);
          expect(createHash("sha256").update(readFileSync(path)).digest("hex"), image.path).toBe(want.images[image.path]!.sha256);
          // Under CI a missing qemu-img must fail this check, not skip it.
          if ((qemuAvailable || process.env["CI"]) && image.format === "qcow2") {
            const check = execFileSync("qemu-img", ["check", "-f", "qcow2", path], { encoding: "utf8", cwd: workdir });
            expect(check.replaceAll(workdir, "$W")).toBe(want.images[image.path]!.check);
          }
        }
      } finally {
        await engine.stop();
        rmSync(workdir, { recursive: true, force: true });
      }
    });
  }
});
