/** Runs of scenarios written inline, through the runner, each in a scratch directory of its own. */
import { afterEach } from "vitest";
import type { Engine } from "../../src/engines/engine.js";
import { runOnEngine } from "../../src/runner/run-on-engine.js";
import { createScratch, removeScratch, type Scratch } from "../../src/runner/scratch.js";
import { scenario } from "../runner/support/scenario.js";

/** A `run(text, engine)` for the calling test file; its scratch directories go after each test. */
export function inlineRunner(timeoutMs: number) {
  const scratches: Scratch[] = [];
  afterEach(async () => {
    await Promise.all(scratches.splice(0).map(removeScratch));
  });
  return async (text: string, engine: Engine) => {
    const scratch = await createScratch();
    scratches.push(scratch);
    return runOnEngine(scenario(text)[0]!, engine, scratch, { timeoutMs });
  };
}
