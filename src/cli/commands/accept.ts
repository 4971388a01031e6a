/** `blockcheck accept [PATH…]`: promote `.out.bad` files (from failed runs) to goldens. */
import path from "node:path";
import { loadConfig } from "../../config/config.js";
import { UsageError } from "../../errors.js";
import { acceptBadFiles, findBadFiles } from "../../golden/accept.js";
import { goldenStem } from "../../golden/paths.js";
import { discover, scenarioName } from "../../runner/discovery.js";
import { isCi } from "../../runner/env.js";
import type { Command } from "../command.js";

export const acceptCommand: Command = {
  name: "accept",
  summary: "promote .out.bad files to golden files",
  usage: "[PATH…]",
  description: [
    "Renames each NAME.out.bad (written by a failed 'blockcheck run') to NAME.out. Without PATH, every",
    ".out.bad under the golden root; with PATH (scenario files, directories or globs), only theirs.",
    "Refuses to run with CI set: CI never writes goldens.",
  ].join("\n"),
  options: {},
  async run({ positionals }, io) {
    if (isCi(io.env)) throw new UsageError("CI is set: accept writes nothing");
    const config = await loadConfig(io.cwd);
    let bad = await findBadFiles(config.golden);
    if (positionals.length > 0) {
      const stems = (await discover(config.scenarios, positionals, io.cwd)).map((s) => goldenStem(scenarioName(s.rel)) + ".");
      bad = bad.filter((b) => {
        const rel = path.relative(config.golden, b).split(path.sep).join("/");
        return stems.some((stem) => rel.startsWith(stem));
      });
    }
    if (bad.length === 0) {
      io.stdout.write("nothing to accept\n");
      return 0;
    }
    for (const golden of await acceptBadFiles(bad)) io.stdout.write(`accepted ${path.relative(io.cwd, golden)}\n`);
    return 0;
  },
};
