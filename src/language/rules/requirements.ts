/**
 * `require` names an entry of one registry, shared by the checker (this rule: are the arguments
 * well formed?) and the runner (src/runner/requirements.ts: does this engine meet it?). An unknown
 * requirement, or bad arguments, is an error, never a requirement that is silently false. Every
 * engine feature (ENGINE_FEATURES) is a requirement by construction: `require io`.
 */
import { ENGINE_FEATURES, ENGINE_KINDS, type EngineFeature, type EngineInfo } from "../../engines/engine.js";
import type { RequireStatement, Statement, WordValue } from "../ast.js";
import { error, type Diagnostic } from "../diagnostic.js";
import type { SchemaView } from "../schema.js";
import type { Rule } from "./rule.js";
import { suggest } from "./suggest.js";

/** One kind of requirement. */
export interface Requirement {
  /** Synopsis, e.g. "require driver NAME…". */
  usage: string;
  /** The problems with its arguments as written (empty: well formed). */
  validate(args: readonly WordValue[], s: RequireStatement, schema: SchemaView): Diagnostic[];
  /**
   * Why `info` (the engine) or `run` (what the run permits) does not meet it (the skip reason), or
   * undefined; only called on valid arguments.
   */
  unmet(info: EngineInfo, args: readonly string[], run: RunPermissions): string | undefined;
  /** The engine feature it asks for, when it is a feature requirement. */
  feature?: EngineFeature;
}

/** What the run, rather than the engine, allows (`blockcheck run` flags). */
export interface RunPermissions {
  /** `--allow-unsafe`: scenarios that `require unsafe` may run (src/qapi/system-commands.ts says what is unsafe). */
  allowUnsafe: boolean;
}

const VERSION_OPS = [">=", ">", "<=", "<", "==", "!="] as const;
type VersionOp = (typeof VERSION_OPS)[number];

/** The skip reason for a missing feature. */
export function missingFeature(info: EngineInfo, feature: EngineFeature): string {
  return `requires ${feature}; the ${info.kind} engine has no ${ENGINE_FEATURES[feature].noun}`;
}

function featureRequirement(feature: EngineFeature): Requirement {
  return {
    usage: `require ${feature}`,
    feature,
    validate: (args) =>
      args.map((a) =>
        error(
          `'require ${feature}' takes no arguments`,
          a.location,
          Object.hasOwn(REQUIREMENTS, a.value) ? [`write each requirement on a line of its own: 'require ${a.value}'`] : [],
        ),
      ),
    unmet: (info) => (info.features.has(feature) ? undefined : missingFeature(info, feature)),
  };
}

/**
 * Whether the scenario asks for `feature`. `require jobs io` counts for both: it is one error (two
 * requirements on one line), not one more for every statement that needs the second.
 */
export function requiresFeature(statements: readonly Statement[], feature: EngineFeature): boolean {
  return statements.some(
    (s) => s.type === "require" && (s.what.name === feature || (Object.hasOwn(ENGINE_FEATURES, s.what.name) && s.args.some((a) => a.value === feature))),
  );
}

const FEATURE_REQUIREMENTS = Object.fromEntries(
  (Object.keys(ENGINE_FEATURES) as EngineFeature[]).map((f) => [f, featureRequirement(f)]),
) as Record<EngineFeature, Requirement>;

/** The registry of requirements, by name. */
export const REQUIREMENTS: Readonly<Record<string, Requirement>> = {
  driver: {
    usage: "require driver NAME…",
    validate(args, s, schema) {
      if (args.length === 0) return [error("'require driver' needs at least one driver name", s.what.location)];
      const drivers = schema.listDrivers();
      return args
        .filter((a) => !drivers.includes(a.value))
        .map((a) => error(`unknown driver '${a.value}'`, a.location, suggest(a.value, drivers)));
    },
    unmet(info, args) {
      const missing = args.filter((d) => !info.drivers.includes(d));
      return missing.length ? `requires driver ${missing.join(", ")}; the ${info.kind} engine does not have it` : undefined;
    },
  },
  engine: {
    usage: `require engine ${ENGINE_KINDS.join("|")}`,
    validate(args, s) {
      if (args.length !== 1) return [error(`'require engine' takes one engine: ${ENGINE_KINDS.join(" or ")}`, s.what.location)];
      const a = args[0]!;
      return (ENGINE_KINDS as readonly string[]).includes(a.value) ? [] : [error(`unknown engine '${a.value}'`, a.location, suggest(a.value, ENGINE_KINDS))];
    },
    unmet: (info, args) => (args.includes(info.kind) ? undefined : `requires engine ${args.join(" or ")}`),
  },
  qemu: {
    usage: "require qemu OP VERSION (e.g. require qemu >= 7.2)",
    validate(args, s) {
      const [op, version] = args;
      if (args.length !== 2 || !op || !version) {
        return [error("'require qemu' takes an operator and a version, e.g. 'require qemu >= 7.2'", s.what.location)];
      }
      const out: Diagnostic[] = [];
      if (!(VERSION_OPS as readonly string[]).includes(op.value)) {
        out.push(error(`unknown version operator '${op.value}'`, op.location, [`use one of ${VERSION_OPS.join(" ")}`]));
      }
      if (!/^[0-9]+(\.[0-9]+){0,2}$/.test(version.value)) {
        out.push(error(`'${version.value}' is not a QEMU version`, version.location, ["write MAJOR[.MINOR[.MICRO]], e.g. 7.2"]));
      }
      return out;
    },
    unmet: (info, args) => versionUnmet(info, args[0] as VersionOp, args[1]!),
  },
  unsafe: {
    usage: "require unsafe",
    validate: (args) => args.map((a) => error("'require unsafe' takes no arguments", a.location)),
    unmet: (_info, _args, run) =>
      run.allowUnsafe ? undefined : "requires unsafe: it runs QMP commands that can run programs or touch files outside the scratch directory; run with --allow-unsafe",
  },
  ...FEATURE_REQUIREMENTS,
};

function versionUnmet(info: EngineInfo, op: VersionOp, want: string): string | undefined {
  const v = info.version;
  const have = [v.major, v.minor, v.micro];
  const need = want.split(".").map(Number);
  const c = have[0]! - need[0]! || have[1]! - (need[1] ?? 0) || have[2]! - (need[2] ?? 0);
  const ok = { "<": c < 0, "<=": c <= 0, "==": c === 0, "!=": c !== 0, ">=": c >= 0, ">": c > 0 }[op];
  return ok ? undefined : `requires qemu ${op} ${want}; the ${info.kind} engine is ${have.join(".")}`;
}

export const requirements: Rule = {
  name: "requirements",
  on: "expansion",
  check({ scenario, schema }) {
    const out: Diagnostic[] = [];
    for (const s of scenario.statements) {
      if (s.type !== "require") continue;
      const req = REQUIREMENTS[s.what.name];
      if (!req) {
        const names = Object.keys(REQUIREMENTS);
        out.push(
          error(`unknown requirement '${s.what.name}'`, s.what.location, [
            ...suggest(s.what.name, names),
            `known requirements: ${names.join(", ")}`,
          ]),
        );
        continue;
      }
      out.push(...req.validate(s.args, s, schema));
    }
    return out;
  },
};
