/**
 * The statement keywords of the language, for "unknown command" diagnostics. Keep in step with
 * `StatementBody` in grammar/scenario.peggy (tests/language/commands.test.ts checks that every one
 * of them starts a statement).
 */
export const COMMANDS: readonly string[] = [
  "scenario",
  "tags",
  "require",
  "each",
  "image",
  "add",
  "graph",
  "reopen",
  "del",
  "export",
  "unexport",
  "iothread",
  "secret",
  "io",
  "qmp",
  "job",
  "wait",
  "expect",
  "show",
];
