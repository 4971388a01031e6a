/**
 * The generator's guide: every statement it writes is run at once on a model engine, through the
 * runner's own step code, so the generator knows what happened before it writes the next one. A
 * node whose `add` failed is never named again, a failed reopen changes no link in its belief, and
 * a statement the runner could not carry out (a node path that leads nowhere) is left out — it
 * would end the run there, on both engines, and waste the rest of the case.
 *
 * The model is deterministic, so a case seed still gives one scenario, always the same. A model
 * that throws while steering ends the generation; the case's real run meets the same exception.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Engine } from "../engines/engine.js";
import { parseScenario, type Statement } from "../language/index.js";
import { createContext, type StepContext } from "../runner/context.js";
import { BlockcheckError } from "../errors.js";
import { StepError } from "../runner/errors.js";
import { jobStatus } from "../runner/job-state.js";
import { runStatement, type StepMemory } from "../runner/steps/index.js";
import { MODEL_REFUSALS } from "./classify.js";
import { renderScenario } from "./render.js";
import type { FuzzStatement } from "./scenario-ir.js";

/** What a statement did on the model; `parsed` is the statement as the language reads it. */
export type SteerOutcome =
  /** It ran; `failed` lists the graph-block nodes (by index) or, for other statements, [0] if it failed. */
  | { kind: "ran"; failed: number[]; parsed: Statement }
  /** The runner could not carry it out; it is left out of the scenario. */
  | { kind: "dropped" }
  /** The model stopped (a QEMU crash it predicts, or an exception): the scenario ends here. */
  | { kind: "ended"; parsed: Statement };

const FILE = "steer.scn";


export class Steering {
  readonly #ctx: StepContext;
  readonly #mem: StepMemory = { imageFormats: new Map() };
  #ended = false;
  #refused = false;

  private constructor(readonly engine: Engine, dir: string) {
    this.#ctx = createContext(engine, dir, [dir], FILE);
  }

  /** A started model engine in `dir` (created if missing); `label` says whom it steers for. */
  static async start(makeModel: () => Engine, dir: string, label?: string): Promise<Steering> {
    mkdirSync(dir, { recursive: true });
    const engine = makeModel();
    await engine.start({ workdir: path.resolve(dir), label });
    return new Steering(engine, path.resolve(dir));
  }

  /** Whether the model stopped (a QEMU crash it predicts, or an exception): nothing after runs. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Whether the model refused a statement it does not model: the case ends before it. */
  get refused(): boolean {
    return this.#refused;
  }

  /** A statement as the language reads it, not run (what a case needs before its statements). */
  parse(s: FuzzStatement, source: string): Statement | undefined {
    const rendered = renderScenario({ seed: 0, statements: [s] }, { title: "steer", tags: [] });
    const parsed = parseScenario(rendered.text, source);
    return parsed.diagnostics.length > 0 ? undefined : parsed.scenario.statements.find((x) => x.type !== "title");
  }

  /**
   * Run one statement. `source` names it in the parsed statement's locations, so that a diagnostic
   * about the whole scenario (see generator.ts) says which statement it is about.
   */
  async run(s: FuzzStatement, source: string): Promise<SteerOutcome> {
    const rendered = renderScenario({ seed: 0, statements: [s] }, { title: "steer", tags: [] });
    const parsed = parseScenario(rendered.text, source);
    const stmt = parsed.scenario.statements.find((x) => x.type !== "title");
    if (!stmt || parsed.diagnostics.length > 0) return { kind: "dropped" };
    if (this.#ended) return { kind: "ended", parsed: stmt };
    try {
      const r = await runStatement(this.#ctx, stmt, this.#mem);
      const lines = rendered.lines[0]!;
      const failedLines = r.failures.map((f) => Number(/:(\d+)$/.exec(f.location ?? "")?.[1]));
      const failed = lines.nodes ? lines.nodes.flatMap((l, i) => (failedLines.includes(l) ? [i] : [])) : failedLines.length > 0 ? [0] : [];
      return { kind: "ran", failed, parsed: stmt };
    } catch (e) {
      if (e instanceof StepError) return { kind: "dropped" };
      // What the model does not model (a data path it refuses): the case ends before the statement,
      // which its real run would stop at too; the model may have done part of it, so nothing follows.
      if (e instanceof BlockcheckError && MODEL_REFUSALS.has(e.code)) {
        this.#refused = true;
        return { kind: "dropped" };
      }
      // A crash the model predicts, or anything else it throws: nothing after this would run.
      this.#ended = true;
      return { kind: "ended", parsed: stmt };
    }
  }

  /** Job `id`'s status on the model now (`null` once it is gone). */
  async jobStatus(id: string): Promise<string> {
    if (this.#ended) return "null";
    try {
      return await jobStatus(this.#ctx, id);
    } catch {
      return this.#stopped("null");
    }
  }

  /** The length of node `name` on the model, in bytes; undefined when it has none there. */
  async nodeSize(name: string): Promise<number | undefined> {
    if (this.#ended) return undefined;
    let reply;
    try {
      reply = await this.engine.qmp("query-named-block-nodes", { flat: true });
    } catch {
      return this.#stopped(undefined);
    }
    if (!("return" in reply) || !Array.isArray(reply.return)) return undefined;
    const node = (reply.return as Array<{ "node-name"?: string; image?: { "virtual-size"?: number } }>).find((n) => n["node-name"] === name);
    return node?.image?.["virtual-size"];
  }

  /**
   * A query that threw: the work QEMU runs before reading any command (a timer, a job's exit)
   * crashed the model, and would crash the case's run at its next statement; nothing follows.
   */
  #stopped<T>(value: T): T {
    this.#ended = true;
    return value;
  }

  async stop(): Promise<void> {
    // The steering model is as far as a refused or ended statement left it; the case's own run meets
    // whatever its end does, so one that throws here must not end the fuzz run.
    await this.engine.stop().catch(() => undefined);
  }
}
