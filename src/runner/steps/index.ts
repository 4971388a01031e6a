/** One statement → its step. Metadata statements (title, tags, require, each) run nothing. */
import type { Statement } from "../../language/ast.js";
import type { StepContext } from "../context.js";
import { addStep, graphStep } from "./add.js";
import { delStep } from "./del.js";
import { expectStep } from "./expect.js";
import { exportStep, unexportStep } from "./export.js";
import { imageStep } from "./image.js";
import { ioStep } from "./io.js";
import { iothreadStep } from "./iothread.js";
import { jobStep, jobVerbStep } from "./job.js";
import { qmpStep } from "./qmp.js";
import { reopenStep } from "./reopen.js";
import { secretStep } from "./secret.js";
import { showStep } from "./show.js";
import { waitStep } from "./wait.js";
import type { StepResult } from "./step.js";

export type { StepResult } from "./step.js";

/** Per-run memory the steps share beyond the context: image formats by path. */
export interface StepMemory {
  imageFormats: Map<string, "qcow2" | "raw">;
}

const NOTHING: StepResult = { blocks: [], failures: [] };

/** Run one statement. */
export async function runStatement(ctx: StepContext, stmt: Statement, mem: StepMemory): Promise<StepResult> {
  switch (stmt.type) {
    case "title":
    case "tags":
    case "require":
    case "each":
      return NOTHING;
    case "phase":
      ctx.phase = stmt.title;
      return { blocks: [{ step: stmt.text, phase: true, output: [] }], failures: [] };
    case "image":
      return imageStep(ctx, stmt, mem.imageFormats);
    case "add":
      return addStep(ctx, stmt);
    case "graph":
      return graphStep(ctx, stmt);
    case "reopen":
      return reopenStep(ctx, stmt);
    case "del":
      return delStep(ctx, stmt);
    case "export":
      return exportStep(ctx, stmt);
    case "unexport":
      return unexportStep(ctx, stmt);
    case "iothread":
      return iothreadStep(ctx, stmt);
    case "secret":
      return secretStep(ctx, stmt);
    case "io":
      return ioStep(ctx, stmt);
    case "qmp":
      return qmpStep(ctx, stmt);
    case "job":
      return jobStep(ctx, stmt);
    case "job-verb":
      return jobVerbStep(ctx, stmt);
    case "wait":
      return waitStep(ctx, stmt);
    case "expect":
      return expectStep(ctx, stmt);
    case "show":
      return showStep(ctx, stmt);
  }
}
