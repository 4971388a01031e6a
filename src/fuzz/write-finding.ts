/**
 * A shrunk finding as files, ready for the corpus: NAME.scn with a comment saying how it was found
 * and what fails, `tags fuzz CLASS`, and an expectation on every statement that fails on the
 * reference engine; NAME.out beside it, the reference engine's transcript of that file.
 *
 * The reference is QEMU for a divergence (the model exists to mirror it) and the model where QEMU
 * itself fails (a crash or a hang: the file says what QEMU should have done, and its tag keeps it
 * out of QEMU runs until QEMU is fixed). A model failure takes QEMU's behaviour when QEMU ran.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { EngineKind } from "../engines/engine.js";
import { onFile } from "../file-errors.js";
import { checkRendered, caseText, type CheckOptions } from "./check-case.js";
import { sameFailure, type FindingClass, type Verdict } from "./classify.js";
import { crashedStatement, outcomesFrom } from "./outcomes.js";
import { renderScenario } from "./render.js";
import { runScenarioText } from "./run-case.js";
import type { FuzzScenario } from "./scenario-ir.js";

export interface FindingToWrite {
  verdict: Extract<Verdict, { kind: "finding" }>;
  scenario: FuzzScenario;
  /** File name without extension. */
  name: string;
  /** Comment lines: how it was found and shrunk. */
  origin: string[];
}

export interface WrittenFinding {
  scn: string;
  out?: string;
  reference: EngineKind;
  /** The written scenario passes on the reference engine (its expectations hold, its golden is its own). */
  passesOnReference: boolean;
  /** Run on the chosen engines, the written scenario still fails the same way. */
  reproduces: boolean;
}

/** Which engine's behaviour the written scenario states. */
export function referenceEngine(cls: FindingClass, engines: readonly EngineKind[]): EngineKind {
  if (cls === "qemu-crash" || cls === "qemu-hang" || cls === "engine-error") return "model";
  if (cls === "divergence") return "qemu";
  return engines.includes("qemu") ? "qemu" : "model";
}

/** What the file states and why; `where` says where QEMU crashed ("at quit", "in the statement at line 9"). */
function classNote(cls: FindingClass, name: string, where: string): string[] {
  switch (cls) {
    case "qemu-crash":
      return [
        `QEMU crashes ${where}; the model does not. The expectations and`,
        `${name}.out are the model's: what QEMU should do. Keep it out of QEMU runs: --exclude-tag qemu-crash.`,
      ];
    case "qemu-hang":
      return [`QEMU hangs here. The expectations and ${name}.out are the model's.`];
    case "divergence":
      return [`The model's transcript differs from QEMU's. The expectations and ${name}.out are QEMU's.`];
    case "model-exception":
    case "model-hang":
      return [`The model fails here; the expectations and ${name}.out are the reference engine's.`];
    case "engine-error":
      return [`The qemu engine failed here; the expectations and ${name}.out are the model's.`];
  }
}

/** Write `f` under `outDir`; a flaky failure gets up to `tries` runs to show it still happens. */
export async function writeFinding(f: FindingToWrite, outDir: string, check: CheckOptions, tries = 1): Promise<WrittenFinding> {
  const { cls } = f.verdict;
  const reference = referenceEngine(cls, check.engines);
  const plain = caseText(f.scenario);
  const first = await runScenarioText(plain.text, reference, check.makeEngine, { timeoutMs: check.timeoutMs, scratch: check.scratch });
  const outcomes = outcomesFrom(first.failures, plain.lines);
  const command = f.verdict.crash?.command;
  const render = (where: string) =>
    renderScenario(f.scenario, {
      title: `fuzz: ${cls} ${f.name}`,
      tags: ["fuzz", cls],
      comments: [...f.origin, `Failure: ${cls}: ${f.verdict.summary}`, ...classNote(cls, f.name, where)],
      outcomes,
    });
  const draft = render(command === "quit" ? "at quit" : `in ${command}`);
  const again = await checkRendered(draft, check);
  // The note names the crashing line; it is one line whatever it says, so the lines stay put.
  const crashed = crashedStatement(again);
  const rendered = crashed !== undefined ? render(`in the statement at line ${draft.lines[crashed]!.start}`) : draft;
  // With --engine qemu the model did not run in `again`; the file states its behaviour all the same.
  const onReference =
    again.runs[reference] ?? (await runScenarioText(rendered.text, reference, check.makeEngine, { timeoutMs: check.timeoutMs, scratch: check.scratch }));
  const passesOnReference = onReference !== undefined && onReference.failures.length === 0 && onReference.thrown === undefined;
  const scn = path.join(outDir, `${f.name}.scn`);
  const out = path.join(outDir, `${f.name}.out`);
  const golden = onReference?.transcript;
  await onFile("write the finding", scn, async () => {
    await mkdir(outDir, { recursive: true });
    await writeFile(scn, rendered.text);
    if (golden !== undefined) await writeFile(out, golden);
  });
  let reproduces = sameFailure(f.verdict, again.verdict);
  for (let i = 1; i < tries && !reproduces; i++) reproduces = sameFailure(f.verdict, (await checkRendered(rendered, check)).verdict);
  return { scn, ...(golden !== undefined ? { out } : {}), reference, passesOnReference, reproduces };
}
