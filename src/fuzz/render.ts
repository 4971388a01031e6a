/**
 * A generated scenario as scenario-language text. With outcomes, each command statement that failed
 * on the reference engine gets `-> error "…"`, so the file passes there and is ready for the corpus.
 * The line of every statement (and of every node line of a `graph { … }` block) is returned so a
 * runner failure, which names a line, can be mapped back to the statement it belongs to.
 */
import type { FuzzNode, FuzzOption, FuzzScenario, FuzzStatement, FuzzValue, StatementOutcome } from "./scenario-ir.js";

export interface RenderOptions {
  title: string;
  tags: readonly string[];
  /** Comment lines written first, each prefixed with `# `. */
  comments?: readonly string[];
  /** Per statement (same index): how it ended on the reference engine. */
  outcomes?: ReadonlyArray<StatementOutcome | undefined>;
}

/** Where a statement starts in the text (1-based), and for a graph block each node line. */
export interface StatementLines {
  start: number;
  nodes?: number[];
}

export interface RenderedScenario {
  text: string;
  lines: StatementLines[];
}

function renderValue(v: FuzzValue): string {
  switch (v.kind) {
    case "word":
      return v.text;
    case "number":
      return String(v.value);
    case "bool":
      return v.value ? "on" : "off";
    case "null":
      return "null";
    case "list":
      return `[${v.items.join(", ")}]`;
    case "json":
      return v.text;
    case "child":
      return `(${v.name !== undefined ? `${v.name}: ` : ""}${[v.driver, ...v.options.map(renderOption)].join(" ")})`;
  }
}

function renderOption(o: FuzzOption): string {
  return `${o.key}=${renderValue(o.value)}`;
}

/** JSON as the corpus writes it: a space after every `:` and `,` between members and items. */
export function spacedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(spacedJson).join(", ")}]`;
  if (v !== null && typeof v === "object") return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${spacedJson(x)}`).join(", ")}}`;
  return JSON.stringify(v);
}

function nodeLine(n: FuzzNode): string {
  return [`${n.name}: ${n.driver}`, ...n.options.map(renderOption)].join(" ");
}

/**
 * A message as a scenario string. Strings take JSON escapes; a `$` would start a parameter, so it
 * is doubled, except in `$TEST_DIR`, which the runner itself writes for the scratch directory.
 */
export function quoteMessage(desc: string): string {
  return JSON.stringify(desc).replace(/\$(?!TEST_DIR)/g, "$$$$");
}

function expectation(o: StatementOutcome | undefined): string {
  return o?.kind === "error" ? ` -> error ${quoteMessage(o.desc)}` : "";
}

/** The statement's lines (the first carries the statement, a block's last its expectation). */
function statementLines(s: FuzzStatement, o: StatementOutcome | undefined): string[] {
  switch (s.kind) {
    case "image":
      return [`image ${s.path} ${s.format} ${s.size}${s.backing !== undefined ? ` backing=${s.backing} backing-fmt=qcow2` : ""}`];
    case "add":
      return [`add ${nodeLine(s.node)}${expectation(o)}`];
    case "graph": {
      const errors = o?.kind === "graph" ? o.errors : [];
      return ["graph {", ...s.nodes.map((n, i) => `  ${nodeLine(n)}${expectation(errors[i] !== undefined ? { kind: "error", desc: errors[i]! } : undefined)}`), "}"];
    }
    case "reopen": {
      const head = s.raw ? "reopen raw" : "reopen";
      const entry = (e: (typeof s.entries)[number]) => [e.node, ...e.options.map(renderOption)].join(" ");
      if (!s.block && s.entries.length === 1) return [`${head} ${entry(s.entries[0]!)}${expectation(o)}`];
      return [`${head} {`, ...s.entries.map((e) => `  ${entry(e)}`), `}${expectation(o)}`];
    }
    case "del":
      return [`del ${s.node}${expectation(o)}`];
    case "export": {
      const context = s.iothread !== undefined ? ` iothread=${s.iothread}${s.fixed ? " fixed-iothread=on" : ""}` : "";
      return [`export ${s.node}${s.writable ? " writable" : ""} id=${s.id}${context}${expectation(o)}`];
    }
    case "iothread":
      return [`iothread ${s.id}${expectation(o)}`];
    case "set-iothread": {
      const args = { "node-name": s.node, iothread: s.iothread, ...(s.force ? { force: true } : {}) };
      return [`qmp x-blockdev-set-iothread ${JSON.stringify(args).replace(/([:,])/g, "$1 ")}${expectation(o)}`];
    }
    case "iothread-del":
      return [`qmp object-del {"id": "${s.id}"}${expectation(o)}`];
    case "unexport":
      return [`unexport ${s.id}${expectation(o)}`];
    case "throttle-group":
      return [`qmp object-add {"qom-type": "throttle-group", "id": "${s.id}", "limits": {}}${expectation(o)}`];
    case "show":
      return [`show ${s.what}`];
    case "show-node":
      return [`show node ${s.node} ${s.keys.join(" ")}`];
    case "qmp":
      return [`qmp ${s.command} ${spacedJson(s.args)}${expectation(o)}`];
    case "io":
      return [`io ${s.node} ${JSON.stringify(s.command)}${expectation(o)}`];
    case "job":
      return [[`job ${s.type} ${s.id} ${s.node}`, ...s.options.map(renderOption)].join(" ") + expectation(o)];
    case "job-verb":
      return [`job ${s.verb} ${s.id}${s.force ? " force=on" : ""}${expectation(o)}`];
    case "wait":
      return [`wait ${s.id} ${s.status}`];
    case "require":
      return [`require ${s.feature}`];
  }
}

/** The scenario as text, with the line of each statement. */
export function renderScenario(scenario: FuzzScenario, opts: RenderOptions): RenderedScenario {
  const out: string[] = [];
  for (const c of opts.comments ?? []) out.push(c === "" ? "#" : `# ${c}`);
  out.push(`scenario ${JSON.stringify(opts.title)}`);
  if (opts.tags.length > 0) out.push(`tags ${opts.tags.join(" ")}`);
  out.push("");
  const lines: StatementLines[] = [];
  scenario.statements.forEach((s, i) => {
    const start = out.length + 1;
    const text = statementLines(s, opts.outcomes?.[i]);
    lines.push(s.kind === "graph" ? { start, nodes: s.nodes.map((_, j) => start + 1 + j) } : { start });
    out.push(...text);
  });
  return { text: out.join("\n") + "\n", lines };
}
