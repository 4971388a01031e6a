/**
 * `blockcheck check [PATH…]`: parse and validate scenario files, print every problem.
 */
import path from "node:path";
import { loadConfig } from "../../config/config.js";
import { discover, emptyPathsError } from "../../runner/discovery.js";
import { NoScenarioSelectedError } from "../../runner/errors.js";
import { loadScenarioFile } from "../../runner/load.js";
import { findProjectRoot } from "../../runner/project-root.js";
import type { Command } from "../command.js";

export const check: Command = {
  name: "check",
  summary: "parse and validate scenario files",
  usage: "[PATH…]",
  description: [
    "Checks each scenario file without running anything: syntax, drivers and options against QEMU's",
    "schema, node names, paths, requirements, parameters and expectations, and that it has a step",
    "at all. PATHs are taken as 'run' takes them (files, directories searched recursively for *.scn,",
    "relative to the working directory or to the scenario root, or globs over scenario names);",
    "without PATH, the scenario root (tests/scenarios). Every problem is printed as",
    "FILE:LINE:COL: error: MESSAGE with the source line and notes.",
    "",
    "Exit status: 0 when every file is valid, 1 when any is not or nothing is selected (unless",
    "--pass-with-none), 2 when a path does not exist.",
  ].join("\n"),
  options: {
    "pass-with-none": { type: "boolean", description: "succeed when the PATHs hold no scenario file" },
  },
  async run({ values, positionals }, io) {
    const root = await findProjectRoot(io.cwd);
    const config = await loadConfig(root);
    const { files, empty } = await discover(config.scenarios, positionals, io.cwd, { outsideRoot: "allow" });
    const shownRoot = path.relative(io.cwd, config.scenarios) || ".";
    if (values["pass-with-none"] !== true) {
      if (empty.length > 0) throw emptyPathsError(empty, config.scenarios, io.cwd);
      if (files.length === 0) throw new NoScenarioSelectedError(`there is no scenario under ${shownRoot}`);
    }
    let invalid = 0;
    for (const file of files) {
      const loaded = await loadScenarioFile(file, io.cwd);
      if (!loaded.ok) {
        invalid++;
        io.stdout.write(loaded.failure.message.endsWith("\n") ? loaded.failure.message : loaded.failure.message + "\n");
      }
    }
    const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
    io.stdout.write(
      invalid === 0 ? `${plural(files.length, "scenario file")} OK\n` : `${invalid} of ${plural(files.length, "scenario file")} invalid\n`,
    );
    return invalid === 0 ? 0 : 1;
  },
};
