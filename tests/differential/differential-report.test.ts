/** The differential's figures: agreement, and what the sequences did with block jobs. */
import { describe, expect, it } from "vitest";
import { addFigures, emptyFigures, formatFigures } from "./differential-report.js";
import type { CaseOutcome } from "./run-differential.js";
import type { RecordedQmpStep } from "./steps.js";

function step(execute: string, reply: RecordedQmpStep["reply"], events: RecordedQmpStep["events"] = []): RecordedQmpStep {
  return { kind: "qmp", execute, reply, events };
}
const err = (desc: string) => ({ error: { class: "GenericError", desc } });

describe("differential figures", () => {
  it("count agreement, job starts, job commands and distinct job errors", () => {
    const f = emptyFigures();
    const withJobs: CaseOutcome = {
      seed: 1,
      steps: [],
      qemu: [
        step("blockdev-add", { return: {} }),
        step("block-stream", { return: {} }, [{ event: "BLOCK_JOB_COMPLETED", data: { device: "j0", error: "Input/output error" } }]),
        step("job-pause", err("Job 'j0' in state 'pending' cannot accept command verb 'pause'")),
        step("blockdev-reopen", err("Cannot change frozen 'backing' link from 'hd0' to 'hd1'")),
        step("blockdev-del", err("Node 'q0' is busy: block device is in use by block job: stream")),
        step("blockdev-add", err("Could not open 'x': No such file or directory")),
        step("query-jobs", { return: [] }),
      ],
    };
    const noJobs: CaseOutcome = { seed: 2, steps: [], qemu: [step("query-named-block-nodes", { return: [] })], modelError: "E_X: broke" };
    addFigures(f, withJobs);
    addFigures(f, noJobs);
    expect(f.sequences).toBe(2);
    expect(f.agreeing).toBe(1);
    expect(f.commands).toBe(8);
    expect(f.jobs).toMatchObject({ sequences: 1, started: 1, commands: 3, errorReplies: 1 });
    // The job verb's error, the two errors a job caused, and the failed job; not the missing file.
    expect([...f.jobs.messages].sort()).toEqual([
      "Cannot change frozen 'backing' link from 'hd0' to 'hd1'",
      "Input/output error",
      "Job 'j0' in state 'pending' cannot accept command verb 'pause'",
      "Node 'q0' is busy: block device is in use by block job: stream",
    ]);
    const text = formatFigures(f);
    expect(text).toMatch(/^2 sequences, 1 agree \(50\.0%\), 8 commands, 4 error replies/);
    expect(text).toMatch(/jobs: 1 jobs started in 1 sequences, 3 job commands, 1 job command errors, 4 distinct job errors in 4 distinct messages:/);
  });
});
