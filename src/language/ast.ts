/**
 * The scenario AST: what the parser produces and what the validator, the runner and the tools read.
 *
 * Every node carries `location` (Peggy's LocationRange). Nodes that a diagnostic can point at more
 * precisely than their whole statement (a name, a key, a value) carry that node's own location.
 * Parameter references (`$fmt`) stay in the text of words and strings; `expandParameters()` substitutes
 * them, once per value of an `each` statement, before validation and execution.
 */

export interface Position {
  offset: number;
  line: number;
  column: number;
}

export interface Location {
  /** The file name as given to the parser (used in diagnostics). */
  source: string;
  start: Position;
  end: Position;
}

// ---------------------------------------------------------------------------------------------
// Values (right-hand sides of key=value)

/** A quoted string: "…" with JSON-style escapes. */
export interface StringValue {
  type: "string";
  value: string;
  location: Location;
}

/** A number, possibly with a size suffix (64k, 1M): `value` is in bytes, `raw` as written. */
export interface NumberValue {
  type: "number";
  value: number;
  raw: string;
  location: Location;
}

/** on/off/true/false. */
export interface BoolValue {
  type: "bool";
  value: boolean;
  /**
   * As written. Some QAPI options are enums that include "on"/"off" (detect-zeroes=on|off|unmap);
   * the runner sends `raw` for those.
   */
  raw: "on" | "off" | "true" | "false";
  location: Location;
}

/** `null` (e.g. backing=null). */
export interface NullValue {
  type: "null";
  location: Location;
}

/**
 * A bare word: a node name or implicit-node path (top/backing/file), an enum value (threads), a file
 * name relative to the scratch directory (top.qcow2). What it means depends on the key.
 */
export interface WordValue {
  type: "word";
  value: string;
  location: Location;
}

/** `[a, b]` — e.g. take-child-perms=[resize, write]. */
export interface ListValue {
  type: "list";
  items: Value[];
  location: Location;
}

/** An inline child: `(DRIVER key=value …)` or `(NAME: DRIVER key=value …)`. */
export interface ChildValue {
  type: "child";
  name?: Identifier;
  driver: Identifier;
  options: OptionNode[];
  location: Location;
}

/** A JSON object or array as written (qmp arguments, or an option value given as JSON). */
export interface JsonValue {
  type: "json";
  value: unknown;
  /**
   * Where a bare `$name` stands as a value (`"size": $size`), as key paths into `value`, which holds
   * its text there: substituted, it becomes the number, boolean or null its value reads as.
   */
  params?: Array<Array<string | number>>;
  location: Location;
}

export type Value =
  | StringValue
  | NumberValue
  | BoolValue
  | NullValue
  | WordValue
  | ListValue
  | ChildValue
  | JsonValue;

/** A name with its own location: node names, drivers, keys of tags and requirements. */
export interface Identifier {
  type: "identifier";
  name: string;
  location: Location;
}

/** `key=value`; `key` is dotted as written (file.driver). */
export interface OptionNode {
  type: "option";
  key: string;
  keyLocation: Location;
  value: Value;
  location: Location;
}

/** A node reference: a node name, or a path from a named node through child edges (top/backing/file). */
export interface NodeRef {
  type: "noderef";
  /** As written, e.g. "top/backing/file". */
  text: string;
  /** The named node the path starts from. */
  root: string;
  /** Child edge names after the root ([] for a plain name). */
  path: string[];
  location: Location;
}

// ---------------------------------------------------------------------------------------------
// Expectations

export interface ErrorMatchExact {
  type: "exact";
  text: string;
  location: Location;
}

export interface ErrorMatchRegex {
  type: "regex";
  pattern: string;
  flags: string;
  location: Location;
}

/** `-> ok`, `-> error "…"`, `-> error /…/`. A step without one must succeed. */
export type Expectation =
  | { type: "ok"; location: Location }
  | { type: "error"; match: ErrorMatchExact | ErrorMatchRegex; location: Location };

// ---------------------------------------------------------------------------------------------
// Statements

interface StatementBase {
  /** The statement's source text, as written (one line, or the whole block for `{ … }` forms). */
  text: string;
  location: Location;
  /**
   * `-> ok` / `-> error …` as written. The grammar accepts it after any statement so that a
   * misplaced one gets a clear diagnostic; after validation it is only present on statements that
   * send a command (add, graph entries, reopen, del, export, unexport, io, qmp, job).
   */
  expectation?: Expectation;
}

/** `scenario "title"` */
export interface TitleStatement extends StatementBase {
  type: "title";
  title: string;
}

/** `tags reopen quick` */
export interface TagsStatement extends StatementBase {
  type: "tags";
  tags: Identifier[];
}

/**
 * `require driver qcow2 blkdebug`, `require engine qemu`, `require qemu >= 7.2`, `require io`.
 * `what` names an entry of the requirement registry; an unknown one is a validation error.
 */
export interface RequireStatement extends StatementBase {
  type: "require";
  what: Identifier;
  args: WordValue[];
}

/** `each fmt in qcow2 raw` — the scenario runs once per value with `$fmt` substituted. */
export interface EachStatement extends StatementBase {
  type: "each";
  variable: Identifier;
  values: WordValue[];
}

/** `image top.qcow2 qcow2 1M backing=base.qcow2 backing-fmt=qcow2` */
export interface ImageStatement extends StatementBase {
  type: "image";
  path: WordValue | StringValue;
  format: Identifier;
  /** A word only where a parameter stands for it (`$size`), until expandParameters() substitutes it. */
  size: NumberValue | WordValue;
  options: OptionNode[];
}

/** `add NAME: DRIVER key=value …` (also each line of a `graph { … }` block). */
export interface AddStatement extends StatementBase {
  type: "add";
  name: Identifier;
  driver: Identifier;
  options: OptionNode[];
}

/** `graph { NAME: DRIVER …  NAME: DRIVER … }` — several adds, one blockdev-add each, in order. */
export interface GraphStatement extends StatementBase {
  type: "graph";
  nodes: AddStatement[];
}

export interface ReopenEntry {
  type: "reopen-entry";
  node: NodeRef;
  options: OptionNode[];
  location: Location;
}

/**
 * `reopen NODE k=v …` (one node), `reopen { NODE k=v … }` (one transaction, several nodes).
 * mode "delta": the runner merges the options into the node's current options, as earlier reopens
 * left them.
 * mode "fresh" (`reopen fresh …`): the options the node was added with, plus those written; what
 * earlier reopens changed is not kept (245's reopen(opts, newopts), which starts from the add-time
 * opts every time).
 * mode "raw" (`reopen raw …`): exactly the options written, plus node-name, are sent.
 */
export interface ReopenStatement extends StatementBase {
  type: "reopen";
  mode: "delta" | "fresh" | "raw";
  entries: ReopenEntry[];
}

/** `del NODE` — blockdev-del. */
export interface DelStatement extends StatementBase {
  type: "del";
  node: NodeRef;
}

/** `export NODE [writable] [id=ID] [name=NAME]` — nbd-server-start once, then block-export-add. */
export interface ExportStatement extends StatementBase {
  type: "export";
  node: NodeRef;
  writable: boolean;
  options: OptionNode[];
}

/** `unexport ID-OR-NODE` — block-export-del, then wait for BLOCK_EXPORT_DELETED. */
export interface UnexportStatement extends StatementBase {
  type: "unexport";
  target: Identifier;
}

/** `io NODE "write -P 0xa5 0 64k"` — a qemu-io command; its output goes to the transcript. */
/** `iothread ID key=value …`: object-add qom-type=iothread with these properties. */
export interface IothreadStatement extends StatementBase {
  type: "iothread";
  id: Identifier;
  options: OptionNode[];
}

/** `secret ID key=value …`: object-add qom-type=secret with these properties (a passphrase for luks). */
export interface SecretStatement extends StatementBase {
  type: "secret";
  id: Identifier;
  options: OptionNode[];
}

export interface IoStatement extends StatementBase {
  type: "io";
  node: NodeRef;
  command: StringValue;
}

/** `qmp COMMAND {json}` — the escape hatch; the reply goes to the transcript. */
export interface QmpStatement extends StatementBase {
  type: "qmp";
  command: Identifier;
  args?: JsonValue;
}

/** The block jobs a `job` statement starts: block-stream, block-commit, blockdev-mirror, blockdev-backup. */
export type JobType = "stream" | "commit" | "mirror" | "backup";

/**
 * `job stream|commit|mirror|backup ID NODE key=value …` — starts a block job with job-id ID on device NODE;
 * the options are the command's other arguments (`base-node=hd2`, `auto-finalize=off`, …).
 */
export interface JobStatement extends StatementBase {
  type: "job";
  jobType: JobType;
  id: Identifier;
  node: NodeRef;
  options: OptionNode[];
}

/** What can be done to a running job: each is a block-job-VERB command. */
export type JobVerb = "finalize" | "complete" | "cancel" | "pause" | "resume" | "dismiss";

/** `job VERB ID [key=value…]` — block-job-VERB on job ID (`job cancel j0 force=on`). */
export interface JobVerbStatement extends StatementBase {
  type: "job-verb";
  verb: JobVerb;
  id: Identifier;
  options: OptionNode[];
}

/** What a `wait` waits for. */
export type WaitTarget =
  /** `wait ID STATUS`: until query-jobs says job ID is in STATUS (`null`: the job is gone). */
  | { kind: "job"; id: Identifier; status: Identifier }
  /** `wait event NAME key=value…`: until an event NAME arrives whose data contains these members. */
  | { kind: "event"; name: Identifier; match: OptionNode[] };

/** `wait ID STATUS` / `wait event NAME key=value…` — never a sleep: a state or an event. */
export interface WaitStatement extends StatementBase {
  type: "wait";
  target: WaitTarget;
}

/**
 * The BlockBackend of an export as an edge's parent: `export e0 -root-> top`. Its text is the
 * transcript's label for it ("export e0").
 */
export interface ExportRef {
  type: "exportref";
  /** The export id (block-export-add `id`). */
  id: string;
  /** As written, normalized to "export ID". */
  text: string;
  location: Location;
}

/** One edge in `expect edge …` or `expect graph { … }`: `PARENT -NAME-> CHILD perm=… shared=…`. */
export interface EdgeSpec {
  type: "edge";
  parent: NodeRef | ExportRef;
  name: Identifier;
  child: NodeRef;
  /** Permission names as written (QAPI names); undefined when not asserted. */
  perm?: Identifier[];
  shared?: Identifier[];
  location: Location;
}

export type Assertion =
  | { kind: "edge"; edge: EdgeSpec }
  | { kind: "ro" | "rw" | "gone" | "exists"; node: NodeRef }
  /** The graph's edges are exactly these (every edge listed, none extra). */
  | { kind: "graph"; edges: EdgeSpec[] }
  /**
   * `expect node NODE KEY=VALUE…`: members of the node's query-named-block-nodes entry have these
   * values; keys are spelt as node-properties.ts says.
   */
  | { kind: "node"; node: NodeRef; properties: OptionNode[] }
  /** `expect job ID KEY=VALUE…`: members of the job's query-jobs / query-block-jobs entry have these values. */
  | { kind: "job"; id: Identifier; properties: OptionNode[] }
  /** `expect frozen PARENT -backing-> CHILD`: a job froze that link (docs/language.md says how it is seen). */
  | { kind: "frozen"; edge: EdgeSpec }
  /** `expect context NODE ID|main`: the AioContext the node runs in, an iothread's or the main loop's. */
  | { kind: "context"; node: NodeRef; context: Identifier };

/** `expect …` — an assertion on the engine's current state. */
export interface ExpectStatement extends StatementBase {
  type: "expect";
  assertion: Assertion;
}

/**
 * `show graph`, `show nodes`, `show node NAME [PROPERTY…]` — writes normalized state to the
 * transcript.
 */
export interface ShowStatement extends StatementBase {
  type: "show";
  what: "graph" | "nodes" | "node";
  node?: NodeRef;
  /** `show node NAME PROPERTY…`: members of its query-named-block-nodes entry to show instead of its edges. */
  properties?: Identifier[];
  /**
   * `show graph NAME`: the name of the SVG picture `run --pictures` draws of the graph
   * (`NAME.svg` beside the golden); an unnamed `show graph` is numbered by its place among them.
   */
  picture?: Identifier;
}

/** `## title` — starts a phase; failures report the phase they happened in. */
export interface PhaseStatement extends StatementBase {
  type: "phase";
  title: string;
}

export type Statement =
  | TitleStatement
  | TagsStatement
  | RequireStatement
  | EachStatement
  | ImageStatement
  | AddStatement
  | GraphStatement
  | ReopenStatement
  | DelStatement
  | ExportStatement
  | UnexportStatement
  | IothreadStatement
  | SecretStatement
  | IoStatement
  | QmpStatement
  | JobStatement
  | JobVerbStatement
  | WaitStatement
  | ExpectStatement
  | ShowStatement
  | PhaseStatement;

/** A parsed scenario file. */
export interface Scenario {
  type: "scenario";
  /** Path as given (relative to the project root when discovered). */
  file: string;
  statements: Statement[];
}
