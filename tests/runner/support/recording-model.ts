/**
 * Running a scenario on a model engine that records every command it is sent, for tests of the
 * runner's side of a statement: which QMP commands a step makes, with which arguments.
 */
import { afterEach } from "vitest";
import type { QmpReply } from "../../../src/engines/engine.js";
import { ModelEngine } from "../../../src/engines/model/model-engine.js";
import { runOnEngine } from "../../../src/runner/run-on-engine.js";
import { createScratch, removeScratch, type Scratch } from "../../../src/runner/scratch.js";
import { scenario } from "./scenario.js";

export class RecordingModel extends ModelEngine {
  readonly sent: Array<{ command: string; args?: Record<string, unknown> }> = [];

  override async qmp(command: string, args?: Record<string, unknown>): Promise<QmpReply> {
    this.sent.push({ command, ...(args ? { args: structuredClone(args) } : {}) });
    return super.qmp(command, args);
  }
}

/** Registers the scratch cleanup in the calling test file; returns its `run(lines)`. */
export function recordingRunner() {
  const scratches: Scratch[] = [];
  afterEach(async () => {
    await Promise.all(scratches.splice(0).map(removeScratch));
  });
  return async (lines: string[]) => {
    const scratch = await createScratch();
    scratches.push(scratch);
    const engine = new RecordingModel();
    const result = await runOnEngine(scenario(['scenario "t"', ...lines, ""].join("\n"))[0]!, engine, scratch, { timeoutMs: 10_000 });
    const sent = (command: string) => engine.sent.filter((s) => s.command === command).map((s) => s.args);
    return { result, engine, sent, dir: scratch.dir };
  };
}
