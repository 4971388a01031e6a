/** `blockcheck accept [PATH…]`: promote pending files (`.out.bad`, `.out.new`) to goldens, showing each change. */
import path from "node:path";
import { loadConfig } from "../../config/config.js";
import { ENGINE_KINDS, type EngineKind } from "../../engines/engine.js";
import { UsageError } from "../../errors.js";
import { promotePending } from "../../golden/accept.js";
import { renderDiff } from "../../golden/diff.js";
import { textSha256, type PendingFile } from "../../golden/pending.js";
import { referenceEngine, refusal, type AcceptPolicy } from "../../golden/source.js";
import { readIfExists } from "../../golden/store.js";
import { isCi, wantsColor } from "../../runner/env.js";
import { selectPending } from "../../runner/pending-selection.js";
import { findProjectRoot } from "../../runner/project-root.js";
import { didYouMean } from "../../text/did-you-mean.js";
import type { Command } from "../command.js";

export const acceptCommand: Command = {
  name: "accept",
  summary: "promote pending transcripts (.out.bad, .out.new) to golden files",
  usage: "[PATH…] [--from-engine ENGINE] [--force]",
  description: [
    "Turns each pending transcript into its golden: NAME.out.bad (a run that differed from NAME.out)",
    "and NAME.out.new (a scenario that had no golden), as written by 'blockcheck run', each shown as",
    "it is promoted. Without PATH, every pending file under the golden root; with PATH (scenario",
    "files, directories or globs, as 'run' takes them), only theirs. 'blockcheck review' does the",
    "same one change at a time, hunk by hunk.",
    "",
    "A pending file is refused (and left in place) when it is not known who wrote it, when it was",
    "written by another engine than the one the golden holds the transcripts of (an engine-specific",
    "golden's engine, or else the configured engine; QEMU when that is 'both'), or when the golden",
    "has changed since. --from-engine ENGINE accepts that engine's files too; --force accepts anything.",
    "Refuses to run with CI set: CI never writes goldens.",
    "",
    "Exit status: 0 when everything selected was accepted, 1 when something was refused, 2 usage error.",
  ].join("\n"),
  options: {
    "from-engine": { type: "string", value: "ENGINE", description: "also accept files written by ENGINE (model or qemu)" },
    force: { type: "boolean", description: "accept whatever wrote them, even if the golden changed since" },
  },
  async run({ values, positionals }, io) {
    if (isCi(io.env)) throw new UsageError("CI is set: accept writes nothing");
    const root = await findProjectRoot(io.cwd);
    const config = await loadConfig(root);
    const policy = acceptPolicy(values, config.engine);
    const pending = await selectPending({ scenarioRoot: config.scenarios, goldenRoot: config.golden, paths: positionals, cwd: io.cwd });
    if (pending.length === 0) {
      io.stdout.write("nothing to accept\n");
      return 0;
    }
    const color = wantsColor(io.env, io.stdout.isTTY);
    const show = (abs: string) => path.relative(io.cwd, abs) || abs;
    let accepted = 0;
    const refused: string[] = [];
    for (const p of pending) {
      const golden = await readIfExists(p.golden);
      const no = refusal(p, policy, golden === undefined ? undefined : textSha256(golden));
      if (no) {
        refused.push(`refused ${show(p.file)}: ${no.message}`);
        continue;
      }
      const body = (await readIfExists(p.file)) ?? "";
      io.stdout.write(`accept ${show(p.file)} → ${show(p.golden)} (${origin(p)})\n`);
      io.stdout.write(describeChange(golden, body, show(p.golden), show(p.file), color));
      await promotePending(p);
      accepted++;
    }
    for (const line of refused) io.stderr.write(line + "\n");
    io.stdout.write(`${accepted} accepted${refused.length > 0 ? `, ${refused.length} refused` : ""}\n`);
    return refused.length > 0 ? 1 : 0;
  },
};

/** The accept policy from `--from-engine` and `--force`, for a project whose configured engine is `configured`. */
export function acceptPolicy(values: Record<string, unknown>, configured: EngineKind | "both"): AcceptPolicy {
  const from = values["from-engine"] as string | undefined;
  if (from !== undefined && !(ENGINE_KINDS as readonly string[]).includes(from)) {
    const hint = didYouMean(from, ENGINE_KINDS);
    throw new UsageError(`--from-engine: unknown engine '${from}'${hint ? ` (did you mean '${hint}'?)` : ""}; engines: ${ENGINE_KINDS.join(", ")}`);
  }
  return {
    reference: referenceEngine(configured),
    ...(from !== undefined ? { fromEngine: from as EngineKind } : {}),
    force: values.force === true,
  };
}

/** "model engine 7.2.22, run 2026-… pid 42" — or what is known of it. */
export function origin(p: PendingFile): string {
  if (!p.record) return "unknown origin";
  const r = p.record;
  return `${r.kind === "new" ? "new golden; " : ""}${r.engine} engine${r.engineVersion ? ` ${r.engineVersion}` : ""}, run ${r.run}`;
}

/** The change as a diff, indented (a new golden: all of it, as added lines). */
function describeChange(golden: string | undefined, body: string, goldenLabel: string, pendingLabel: string, color: boolean): string {
  const diff = renderDiff(golden ?? "", body, { expectedLabel: golden === undefined ? "(no golden)" : goldenLabel, actualLabel: pendingLabel, color });
  return indent(diff || "(identical to the golden)\n");
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, "    ");
}
