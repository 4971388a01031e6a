/**
 * `require …` checked against the engine: a requirement not met skips the scenario with a stated
 * reason. The registry names every requirement; an unknown one is an error, never silently true.
 */
import type { EngineInfo } from "../engines/engine.js";
import type { RequireStatement, Scenario } from "../language/ast.js";
import { StepError } from "./errors.js";

type Check = (info: EngineInfo, args: string[], stmt: RequireStatement) => string | undefined;

const registry: Record<string, Check> = {
  driver: (info, args) => {
    const missing = args.filter((d) => !info.drivers.includes(d));
    return missing.length ? `requires driver ${missing.join(", ")}; the ${info.kind} engine does not have it` : undefined;
  },
  engine: (info, args) => (args.includes(info.kind) ? undefined : `requires engine ${args.join(" or ")}`),
  io: (info) => (info.io ? undefined : `requires io; the ${info.kind} engine has no qemu-io`),
  qemu: (info, args, stmt) => checkVersion(info, args, stmt),
};

/** The reason to skip, or undefined when every requirement holds (an `io` statement implies `require io`). */
export function unmetRequirement(scenario: Scenario, info: EngineInfo): string | undefined {
  for (const stmt of scenario.statements) {
    if (stmt.type === "require") {
      const check = registry[stmt.what.name];
      if (!check) throw new StepError(`unknown requirement '${stmt.what.name}'`, stmt.what.location);
      const reason = check(info, stmt.args.map((a) => a.value), stmt);
      if (reason) return reason;
    }
  }
  if (usesIo(scenario) && !info.io) return `requires io; the ${info.kind} engine has no qemu-io`;
  return undefined;
}

/** Whether any statement is an `io` step. */
export function usesIo(scenario: Scenario): boolean {
  return scenario.statements.some((s) => s.type === "io");
}

function checkVersion(info: EngineInfo, args: string[], stmt: RequireStatement): string | undefined {
  const [op, want] = args.length === 2 ? args : [">=", args[0]];
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(want ?? "");
  if (!m || !["<", "<=", "==", "!=", ">=", ">"].includes(op!)) {
    throw new StepError(`'require qemu' takes OP VERSION, e.g. '>= 7.2'`, stmt.location);
  }
  const v = info.version;
  const have = [v.major, v.minor, v.micro];
  const need = [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
  const c = have[0]! - need[0]! || have[1]! - need[1]! || have[2]! - need[2]!;
  const ok = { "<": c < 0, "<=": c <= 0, "==": c === 0, "!=": c !== 0, ">=": c >= 0, ">": c > 0 }[op!];
  return ok ? undefined : `requires qemu ${op} ${want}; the ${info.kind} engine is ${have.join(".")}`;
}
