/** Reporters by name, as `--reporter NAME` selects them. */
import { UsageError } from "../errors.js";
import type { Reporter } from "../runner/reporter.js";
import { didYouMean } from "../text/did-you-mean.js";
import { consoleReporter } from "./console.js";
import { jsonReporter } from "./json.js";
import { junitReporter } from "./junit.js";
import type { ReporterContext } from "./reporter.js";
import { tapReporter } from "./tap.js";

const reporters: Record<string, (ctx: ReporterContext) => Reporter> = {
  console: consoleReporter,
  tap: tapReporter,
  junit: junitReporter,
  json: jsonReporter,
};

/** The names `--reporter` accepts. */
export const reporterNames: readonly string[] = Object.keys(reporters);

/** A reporter by name; an unknown name is a usage error with a suggestion. */
export function createReporter(name: string, ctx: ReporterContext): Reporter {
  const make = reporters[name];
  if (!make) {
    const hint = didYouMean(name, reporterNames);
    throw new UsageError(
      `unknown reporter '${name}'${hint ? ` (did you mean '${hint}'?)` : ""}; reporters: ${reporterNames.join(", ")}`,
    );
  }
  return make(ctx);
}
