/**
 * Golden-file errors. Both are mistakes in the scenario tree or the project's set-up, not in a
 * scenario run, so they are configuration errors: the run stops before anything is written, and
 * the CLI exits 2.
 */
import { ConfigError } from "../errors.js";

/** A scenario whose name cannot give a golden path inside the golden root. */
export class GoldenNameError extends ConfigError {}

/** Two scenario runs that would read and write the same golden file. */
export class GoldenCollisionError extends ConfigError {
  constructor(
    readonly file: string,
    readonly owners: readonly [string, string],
  ) {
    super(`${owners[0]} and ${owners[1]} would share the golden file ${file}; rename one of them`);
  }
}
