/**
 * A generated scenario before it is text: statements of the scenario language as plain data. The
 * generator builds it, the shrinker cuts pieces out of it (statements, block entries, options), and
 * render.ts writes it as a `.scn` file. Only what the generator writes is here; the language itself
 * has more (docs/language.md).
 */

/** A value of `key=value`, as the scenario language writes it. */
export type FuzzValue =
  /** A bare word: a node name, a path (`q0/file`), a file name, an enum value. */
  | { kind: "word"; text: string }
  | { kind: "number"; value: number }
  | { kind: "bool"; value: boolean }
  | { kind: "null" }
  /** `[a, b]` of words (permission lists). */
  | { kind: "list"; items: string[] }
  /** A JSON value written as it is (blkdebug's rule lists). */
  | { kind: "json"; text: string }
  /** An inline child `(DRIVER k=v …)`, or `(NAME: DRIVER k=v …)` when named. */
  | { kind: "child"; name?: string; driver: string; options: FuzzOption[] };

export interface FuzzOption {
  key: string;
  value: FuzzValue;
}

/** One node of an `add` or of a `graph { … }` block. */
export interface FuzzNode {
  name: string;
  driver: string;
  options: FuzzOption[];
}

/** One entry of a `reopen`: the node as written (name or path) and the options changed or sent. */
export interface FuzzReopenEntry {
  node: string;
  options: FuzzOption[];
}

export type FuzzStatement =
  | { kind: "image"; path: string; format: string; size: string; backing?: string }
  | { kind: "add"; node: FuzzNode }
  | { kind: "graph"; nodes: FuzzNode[] }
  /** `reopen [raw] NODE …`, or `reopen [raw] { … }` (one transaction) when `block` is set. */
  | { kind: "reopen"; raw: boolean; block: boolean; entries: FuzzReopenEntry[] }
  | { kind: "del"; node: string }
  /** `export NODE [writable] id=ID [iothread=IOTHREAD [fixed-iothread=on]]`. */
  | { kind: "export"; node: string; writable: boolean; id: string; iothread?: string; fixed?: true }
  | { kind: "unexport"; id: string }
  /** A throttle-group object, through the `qmp` escape hatch (the language has no statement for it). */
  | { kind: "throttle-group"; id: string }
  | { kind: "show"; what: "graph" | "nodes" }
  /** A qemu-io command on a node (`io NODE "COMMAND"`). */
  | { kind: "io"; node: string; command: string }
  /** `iothread ID`. */
  | { kind: "iothread"; id: string }
  /** `x-blockdev-set-iothread` of a named node, through `qmp` (null: the main loop). */
  | { kind: "set-iothread"; node: string; iothread: string | null; force: boolean }
  /** `object-del` of an iothread, through `qmp`. */
  | { kind: "iothread-del"; id: string }
  /** `job stream|commit|mirror|backup ID NODE [OPTION=VALUE…]`: starts a block job. */
  | { kind: "job"; type: "stream" | "commit" | "mirror" | "backup"; id: string; node: string; options: FuzzOption[] }
  /** `job VERB ID` (`force=on` for a cancel that does not complete a ready mirror). */
  | { kind: "job-verb"; verb: "finalize" | "complete" | "cancel" | "pause" | "resume" | "dismiss"; id: string; force?: true }
  /** `wait ID STATUS`: only statuses a job stays in (docs/language.md). */
  | { kind: "wait"; id: string; status: "ready" | "standby" | "pending" | "concluded" | "null" }
  /** `qmp COMMAND {ARGS}`: a node command of gen-commands.ts, its arguments as sent. */
  | { kind: "qmp"; command: string; args: Record<string, unknown> }
  /** `show node NODE KEY…`. */
  | { kind: "show-node"; node: string; keys: string[] }
  /** `require FEATURE`: what the engine needs for the statements that follow (the first statements). */
  | { kind: "require"; feature: "io" | "jobs" };

/** A generated case: its seed and statements. */
export interface FuzzScenario {
  /** The per-case seed the statements came from (reproduces them alone). */
  seed: number;
  statements: FuzzStatement[];
}

/** How one command statement ended on the reference engine, for writing expectations. */
export type StatementOutcome =
  /** Every command of the statement succeeded (no expectation needed). */
  | { kind: "ok" }
  /** The statement failed with this (normalized) message. */
  | { kind: "error"; desc: string }
  /** A graph block: one outcome per node line, by index. */
  | { kind: "graph"; errors: Array<string | undefined> };
