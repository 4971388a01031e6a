/**
 * The command table, in the order `blockcheck --help` lists it. Each row names a command and imports
 * its module on demand (a test checks that `name` and `summary` match the module's). To add a
 * command, add one row:
 *
 *   { name: "x", summary: "…", load: async () => (await import("./x.js")).xCommand },
 */
import type { CommandEntry } from "../command.js";

export const commands: readonly CommandEntry[] = [
  { name: "run", summary: "run scenarios and compare their transcripts with golden files", load: async () => (await import("./run.js")).runCommand },
  { name: "check", summary: "parse and validate scenario files", load: async () => (await import("./check.js")).check },
  { name: "accept", summary: "promote pending transcripts (.out.bad, .out.new) to golden files", load: async () => (await import("./accept.js")).acceptCommand },
  { name: "review", summary: "review pending transcripts change by change: accept, reject or skip", load: async () => (await import("./review.js")).reviewCommand },
  { name: "qmp", summary: "speak QMP on stdin/stdout to an engine", load: async () => (await import("./qmp.js")).qmpCommand },
  { name: "graph", summary: "show a scenario's final block graph as text, DOT or SVG", load: async () => (await import("./graph.js")).graphCommand },
  { name: "fuzz", summary: "run random scenarios; shrink what fails to a scenario file", load: async () => (await import("./fuzz.js")).fuzzCommand },
];
