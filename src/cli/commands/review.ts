/**
 * `blockcheck review [PATH…]`: go through the pending transcripts (`.out.bad`, `.out.new`) one change
 * at a time — each hunk of a difference, or a new golden whole — and accept, reject or skip it, as
 * `cargo insta review` does. Answers are read line by line from standard input, so it works at a
 * terminal and with answers piped in (`printf 'a\nr\n' | blockcheck review`).
 *
 * Accepting some hunks of a change writes them into the golden; rejecting drops them; what is
 * skipped stays pending (rewritten against the new golden, so the next review shows only that).
 */
import path from "node:path";
import { createInterface } from "node:readline";
import { loadConfig } from "../../config/config.js";
import { UsageError } from "../../errors.js";
import { promotePending } from "../../golden/accept.js";
import { renderHunk } from "../../golden/diff.js";
import { applyDecisions, hunksOf, type Hunk, type HunkDecision } from "../../golden/hunks.js";
import { removePending, textSha256, writePending, type PendingFile } from "../../golden/pending.js";
import { refusal, type AcceptPolicy, type Refusal } from "../../golden/source.js";
import { readIfExists, writeAtomic } from "../../golden/store.js";
import { isCi, wantsColor } from "../../runner/env.js";
import { selectPending } from "../../runner/pending-selection.js";
import { findProjectRoot } from "../../runner/project-root.js";
import type { CliIo, Command } from "../command.js";
import { acceptPolicy, origin } from "./accept.js";

const HELP = [
  "  a  accept this change into the golden",
  "  r  reject it: the golden keeps its text",
  "  s  skip it: it stays pending for a later review",
  "  A, R, S  the same for this change and every one after it",
  "  q  quit: this change and the rest stay pending",
].join("\n");

export const reviewCommand: Command = {
  name: "review",
  summary: "review pending transcripts change by change: accept, reject or skip",
  usage: "[PATH…] [--from-engine ENGINE] [--force]",
  description: [
    "Shows each pending transcript written by 'blockcheck run' (NAME.out.bad, a difference from the",
    "golden NAME.out; NAME.out.new, a scenario without a golden), who wrote it, and then each change:",
    "every hunk of a difference, or a new golden whole. Answer each with a (accept), r (reject) or",
    "s (skip); A, R or S answer this one and all the rest; q stops, leaving the rest pending; ? help.",
    "Answers are read one per line from standard input, so they can be piped in. With PATH (as 'run'",
    "takes them), only those scenarios' pending files.",
    "",
    "Accepted hunks go into the golden, rejected ones are dropped, skipped ones stay pending. A file",
    "of unknown origin, or written by another engine than the one the golden holds the transcripts",
    "of, can only be rejected or skipped, unless --from-engine ENGINE or --force (as for 'accept').",
    "Refuses to run with CI set: CI never writes goldens.",
  ].join("\n"),
  options: {
    "from-engine": { type: "string", value: "ENGINE", description: "also accept changes written by ENGINE (model or qemu)" },
    force: { type: "boolean", description: "accept changes whatever wrote them" },
  },
  async run({ values, positionals }, io) {
    if (isCi(io.env)) throw new UsageError("CI is set: review writes nothing");
    const root = await findProjectRoot(io.cwd);
    const config = await loadConfig(root);
    const policy = acceptPolicy(values, config.engine);
    const pending = await selectPending({ scenarioRoot: config.scenarios, goldenRoot: config.golden, paths: positionals, cwd: io.cwd });
    if (pending.length === 0) {
      io.stdout.write("nothing to review\n");
      return 0;
    }
    const answers = new Answers(io);
    const session: Session = { io, answers, policy, color: wantsColor(io.env, io.stdout.isTTY), show: (abs) => path.relative(io.cwd, abs) || abs, outcomes: [] };
    try {
      for (const [i, p] of pending.entries()) {
        if (answers.quit) {
          session.outcomes.push(`skipped ${session.show(p.file)}`);
          continue;
        }
        await reviewOne(session, p, `[${i + 1}/${pending.length}]`);
      }
    } finally {
      answers.close();
    }
    io.stdout.write(["", "review:", ...session.outcomes.map((o) => `  ${o}`), ""].join("\n"));
    return 0;
  },
};

interface Session {
  io: CliIo;
  answers: Answers;
  policy: AcceptPolicy;
  color: boolean;
  show: (abs: string) => string;
  /** One line per pending file: what became of it. */
  outcomes: string[];
}

async function reviewOne(s: Session, p: PendingFile, counter: string): Promise<void> {
  const body = (await readIfExists(p.file)) ?? "";
  const golden = await readIfExists(p.golden);
  const no = refusal(p, s.policy, golden === undefined ? undefined : textSha256(golden));
  // A golden that moved on since is no reason to refuse here: the hunks are against it as it is now.
  const blocked: Refusal | undefined = no?.why === "stale" ? undefined : no;
  const { show, io } = s;
  io.stdout.write(`\n${counter} ${show(p.file)} → ${show(p.golden)}${golden === undefined ? " (new golden)" : ""}\n`);
  io.stdout.write(`  ${origin(p)}${p.record ? `; scenario ${p.record.scenario} (${p.record.instance})` : ""}\n`);
  if (no?.why === "stale") io.stdout.write("  note: the golden changed after this file was written; the changes below are against the golden as it is now\n");
  if (blocked) io.stdout.write(`  cannot be accepted: ${blocked.message}\n`);

  const base = golden ?? "";
  const hunks = hunksOf(base, body);
  if (hunks.length === 0) {
    await removePending(p.golden);
    s.outcomes.push(`removed ${show(p.file)}: identical to the golden`);
    return;
  }
  io.stdout.write(`  --- ${golden === undefined ? "(no golden)" : show(p.golden)}\n  +++ ${show(p.file)}\n`);
  // A new golden is one change: half of a file that does not exist yet is not a golden.
  const units: Hunk[][] = golden === undefined ? [hunks] : hunks.map((h) => [h]);
  const decisions: HunkDecision[] = [];
  for (const [i, unit] of units.entries()) {
    const note = units.length > 1 ? `(change ${i + 1} of ${units.length})` : "";
    io.stdout.write(indent(unit.map((h, j) => renderHunk(h, s.color, j === 0 ? note : "")).join("\n")) + "\n");
    const d = await s.answers.decide(golden === undefined ? "create this golden?" : "accept this change?", blocked);
    decisions.push(...unit.map(() => d));
  }
  s.outcomes.push(await settle(s, p, base, golden !== undefined, hunks, decisions));
}

/** Write what was decided for one pending file; the line that reports it. */
async function settle(s: Session, p: PendingFile, golden: string, hadGolden: boolean, hunks: readonly Hunk[], decisions: readonly HunkDecision[]): Promise<string> {
  const { show } = s;
  const count = (d: HunkDecision) => decisions.filter((x) => x === d).length;
  const [accepted, rejected, skipped] = [count("accept"), count("reject"), count("skip")];
  if (accepted === hunks.length) {
    await promotePending(p);
    return `${hadGolden ? "updated" : "created"} ${show(p.golden)}`;
  }
  if (skipped === hunks.length) return `skipped ${show(p.file)}`;
  const next = applyDecisions(golden, hunks, decisions);
  if (next.golden !== undefined) await writeAtomic(p.golden, next.golden);
  if (next.pending === undefined) {
    await removePending(p.golden);
  } else if (p.record) {
    // Still pending, now against the golden as it is after this review.
    const newGolden = next.golden ?? golden;
    await writePending(p.golden, "mismatch", next.pending, { ...p.record, kind: "mismatch", goldenSha256: textSha256(newGolden) });
  } else {
    await writeAtomic(p.file, next.pending);
  }
  if (accepted === 0 && skipped === 0) return `rejected ${show(p.file)}`;
  const parts = [`${accepted} accepted`, `${rejected} rejected`, ...(skipped > 0 ? [`${skipped} skipped`] : [])];
  const left = skipped > 0 ? ` (the skipped ones are still pending)` : "";
  return `${show(p.golden)}: of ${hunks.length} changes ${parts.join(", ")}${left}`;
}

/**
 * The answers, one line each from standard input. At a terminal the person types them after the
 * prompt; piped in, each is echoed after its prompt so the output reads as a dialogue. The end of
 * input means quit.
 */
class Answers {
  /** Set by q, or by the end of input: everything after stays pending. */
  quit = false;
  /** Set by A, R or S: the answer to every change still to come. */
  #all: HunkDecision | undefined;
  readonly #lines: AsyncIterator<string>;
  readonly #close: () => void;
  readonly #echo: boolean;

  constructor(private readonly io: CliIo) {
    const rl = createInterface({ input: io.stdin, terminal: false, crlfDelay: Infinity });
    this.#lines = rl[Symbol.asyncIterator]();
    this.#close = () => rl.close();
    this.#echo = (io.stdin as { isTTY?: boolean }).isTTY !== true;
  }

  /** Ask about one change; `blocked` says why accepting is not possible. */
  async decide(question: string, blocked: Refusal | undefined): Promise<HunkDecision> {
    const out = this.io.stdout;
    if (this.quit) return "skip";
    if (this.#all) return this.#all === "accept" && blocked ? "skip" : this.#all;
    for (;;) {
      out.write(`${question} [a]ccept [r]eject [s]kip [q]uit [?] `);
      const next = await this.#lines.next();
      if (next.done) {
        out.write("\n(end of input: the rest stays pending)\n");
        this.quit = true;
        return "skip";
      }
      const answer = next.value.trim();
      if (this.#echo) out.write(answer + "\n");
      const word = answer.toLowerCase();
      const decision: HunkDecision | "quit" | undefined =
        word === "a" || word === "accept" ? "accept" : word === "r" || word === "reject" ? "reject" : word === "s" || word === "skip" ? "skip" : word === "q" || word === "quit" ? "quit" : undefined;
      if (decision === "quit") {
        this.quit = true;
        return "skip";
      }
      if (decision === undefined) {
        out.write(`${answer === "" || answer === "?" ? "" : `'${answer}' is not an answer\n`}${HELP}\n`);
        continue;
      }
      if (decision === "accept" && blocked) {
        out.write(`cannot accept: ${blocked.message}\n`);
        continue;
      }
      // Upper case answers this change and all that follow.
      if (/^[ARS]$/.test(answer)) this.#all = decision;
      return decision;
    }
  }

  close(): void {
    this.#close();
  }
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, "  ");
}
