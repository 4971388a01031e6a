/**
 * `require …` checked against the engine, through the registry the checker validates with
 * (src/language/rules/requirements.ts): a requirement not met skips the scenario with a stated
 * reason; an unknown or malformed one is an error, never silently true. The features a scenario
 * needs are also what the engine is started with.
 */
import type { EngineFeature, EngineInfo } from "../engines/engine.js";
import type { Scenario, Statement } from "../language/ast.js";
import { missingFeature, REQUIREMENTS, type RunPermissions } from "../language/rules/requirements.js";
import { qapiSchema } from "../language/schema.js";
import { StepError } from "./errors.js";

/** Statements that need a feature whether or not the scenario says `require` (the checker insists it does). */
const IMPLIED: Partial<Record<Statement["type"], EngineFeature>> = { io: "io", job: "jobs", "job-verb": "jobs" };

/** The reason to skip, or undefined when every requirement holds. */
export function unmetRequirement(scenario: Scenario, info: EngineInfo, run: RunPermissions): string | undefined {
  for (const stmt of scenario.statements) {
    if (stmt.type !== "require") continue;
    const req = REQUIREMENTS[stmt.what.name];
    if (!req) throw new StepError(`unknown requirement '${stmt.what.name}'`, stmt.what.location);
    const [problem] = req.validate(stmt.args, stmt, qapiSchema);
    if (problem) throw new StepError(problem.message, problem.location);
    const reason = req.unmet(info, stmt.args.map((a) => a.value), run);
    if (reason) return reason;
  }
  for (const feature of impliedFeatures(scenario)) {
    if (!info.features.has(feature)) return missingFeature(info, feature);
  }
  return undefined;
}

/** Every feature the scenario asks for or uses; the engine is started with these. */
export function neededFeatures(scenario: Scenario): Set<EngineFeature> {
  const needed = impliedFeatures(scenario);
  for (const stmt of scenario.statements) {
    const feature = stmt.type === "require" ? REQUIREMENTS[stmt.what.name]?.feature : undefined;
    if (feature) needed.add(feature);
  }
  return needed;
}

function impliedFeatures(scenario: Scenario): Set<EngineFeature> {
  const out = new Set<EngineFeature>();
  for (const stmt of scenario.statements) {
    const feature = IMPLIED[stmt.type];
    if (feature) out.add(feature);
  }
  return out;
}

/** QMP commands whose answer lists QOM's /objects in its hash table's order. */
const OBJECT_ORDER_COMMANDS = new Set(["qom-list", "query-iothreads"]);

/** Whether the scenario sends a command whose answer shows the order of QOM's /objects. */
export function seesObjectOrder(scenario: Scenario): boolean {
  return scenario.statements.some((s) => s.type === "qmp" && OBJECT_ORDER_COMMANDS.has(s.command.name));
}
