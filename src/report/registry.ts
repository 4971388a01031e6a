/**
 * Reporters by name, as `--reporter NAME` selects them. Each is imported when chosen: the TAP
 * reporter alone brings in a YAML library, which every run would otherwise load.
 */
import { UsageError } from "../errors.js";
import type { Reporter } from "../runner/reporter.js";
import { didYouMean } from "../text/did-you-mean.js";
import type { ReporterContext } from "./reporter.js";

type MakeReporter = (ctx: ReporterContext) => Reporter;

const reporters: Record<string, () => Promise<MakeReporter>> = {
  console: async () => (await import("./console.js")).consoleReporter,
  tap: async () => (await import("./tap.js")).tapReporter,
  junit: async () => (await import("./junit.js")).junitReporter,
  json: async () => (await import("./json.js")).jsonReporter,
};

/** The names `--reporter` accepts. */
export const reporterNames: readonly string[] = Object.keys(reporters);

/** A reporter by name; an unknown name is a usage error with a suggestion, thrown at once. */
export function createReporter(name: string, ctx: ReporterContext): Promise<Reporter> {
  const load = reporters[name];
  if (!load) {
    const hint = didYouMean(name, reporterNames);
    throw new UsageError(
      `unknown reporter '${name}'${hint ? ` (did you mean '${hint}'?)` : ""}; reporters: ${reporterNames.join(", ")}`,
    );
  }
  return load().then((make) => make(ctx));
}
