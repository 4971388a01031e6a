/**
 * `require` names an entry of a registry; an unknown requirement, or bad arguments, is an error
 * (never a requirement that is silently false).
 */
import type { RequireStatement, WordValue } from "../ast.js";
import { error, type Diagnostic } from "../diagnostic.js";
import type { SchemaView } from "../schema.js";
import type { Rule } from "./rule.js";
import { suggest } from "./suggest.js";

/** One kind of requirement: its synopsis and how its arguments are checked. */
interface Requirement {
  usage: string;
  check(args: readonly WordValue[], s: RequireStatement, schema: SchemaView): Diagnostic[];
}

const ENGINES = ["model", "qemu"];
const VERSION_OPS = [">=", ">", "<=", "<", "==", "!="];

/** The registry of requirements, by name. */
export const REQUIREMENTS: Readonly<Record<string, Requirement>> = {
  driver: {
    usage: "require driver NAME…",
    check(args, s, schema) {
      if (args.length === 0) return [error("'require driver' needs at least one driver name", s.what.location)];
      const drivers = schema.listDrivers();
      return args
        .filter((a) => !drivers.includes(a.value))
        .map((a) => error(`unknown driver '${a.value}'`, a.location, suggest(a.value, drivers)));
    },
  },
  engine: {
    usage: "require engine model|qemu",
    check(args, s) {
      if (args.length !== 1) return [error("'require engine' takes one engine: model or qemu", s.what.location)];
      const a = args[0]!;
      return ENGINES.includes(a.value) ? [] : [error(`unknown engine '${a.value}'`, a.location, suggest(a.value, ENGINES))];
    },
  },
  qemu: {
    usage: "require qemu OP VERSION (e.g. require qemu >= 7.2)",
    check(args, s) {
      const [op, version] = args;
      if (args.length !== 2 || !op || !version) {
        return [error("'require qemu' takes an operator and a version, e.g. 'require qemu >= 7.2'", s.what.location)];
      }
      const out: Diagnostic[] = [];
      if (!VERSION_OPS.includes(op.value)) {
        out.push(error(`unknown version operator '${op.value}'`, op.location, [`use one of ${VERSION_OPS.join(" ")}`]));
      }
      if (!/^[0-9]+(\.[0-9]+){0,2}$/.test(version.value)) {
        out.push(error(`'${version.value}' is not a QEMU version`, version.location, ["write MAJOR[.MINOR[.MICRO]], e.g. 7.2"]));
      }
      return out;
    },
  },
  io: {
    usage: "require io",
    check(args) {
      return args.map((a) => error("'require io' takes no arguments", a.location));
    },
  },
};

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
      out.push(...req.check(s.args, s, schema));
    }
    return out;
  },
};
