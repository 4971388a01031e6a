/**
 * With both engines, QEMU's run writes the pictures and the model's must draw the same bytes: a
 * picture that differs where the transcripts agree (here ro/rw, which `show graph` does not print)
 * fails the model's run. Fake engines stand in for the two, so the difference can be made on purpose.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { QmpReply } from "../../src/engines/engine.js";
import { runScenarios } from "../../src/runner/run-all.js";
import type { EngineName } from "../../src/runner/results.js";
import { FakeEngine } from "../runner/support/fake-engine.js";
import { project, type Project } from "../runner/support/project.js";

/** A fake whose query-named-block-nodes says every node is read-only. */
class ReadOnlyLiar extends FakeEngine {
  override async qmp(command: string, args?: Record<string, unknown>): Promise<QmpReply> {
    const reply = await super.qmp(command, args);
    if (command !== "query-named-block-nodes" || !("return" in reply)) return reply;
    return { return: (reply.return as Array<Record<string, unknown>>).map((n) => ({ ...n, ro: true })) };
  }
}

let p: Project | undefined;
afterEach(async () => p?.remove());

async function runBoth(model: (kind: EngineName) => FakeEngine) {
  p = await project({ "tests/scenarios/s.scn": 'scenario "s"\nadd n0: null-co\nshow graph\n' });
  const written: string[] = [];
  const summary = await runScenarios({
    cwd: p.dir,
    scenarioRoot: p.file("tests/scenarios"),
    goldenRoot: p.file("golden"),
    paths: [],
    engines: ["model", "qemu"],
    jobs: 1,
    timeoutMs: 10_000,
    bail: false,
    keepScratch: false,
    update: true,
    ci: false,
    prune: false,
    selection: { tags: [], excludeTags: [] },
    color: false,
    pictures: true,
    onPicturesWritten: (files) => written.push(...files),
    makeEngine: (kind) => (kind === "qemu" ? new FakeEngine("qemu") : model(kind)),
    reporters: [],
    // A failed run's kept scratch directory goes with the project.
    scratchParent: p.dir,
  });
  return { summary, written };
}

describe("pictures with both engines", () => {
  it("are written from QEMU's run, and the model's run passes when it draws the same", async () => {
    const { summary, written } = await runBoth((kind) => new FakeEngine(kind));
    expect(summary.results.map((r) => [r.engine, r.status])).toEqual([
      ["model", "pass"],
      ["qemu", "pass"],
    ]);
    expect(written).toEqual([p!.file("golden/s.1.svg")]);
  });

  it("fail the model's run when its picture differs from QEMU's, though the transcripts agree", async () => {
    const { summary } = await runBoth((kind) => new ReadOnlyLiar(kind));
    const model = summary.results.find((r) => r.engine === "model")!;
    expect(model.status).toBe("fail");
    expect(model.failures).toEqual([
      expect.objectContaining({ kind: "engines-differ", message: "the model's picture '1' differs from QEMU's (show graph 1)" }),
    ]);
    expect(summary.results.find((r) => r.engine === "qemu")!.status).toBe("pass");
  });
});
