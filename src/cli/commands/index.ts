import type { Command } from "../command.js";
import { notYet } from "../not-yet.js";

/** The command table, in the order `blockcheck --help` lists it. */
export const commands: Command[] = [
  notYet("run", "run scenarios and compare their transcripts with golden files"),
  notYet("check", "parse and validate scenario files"),
  notYet("accept", "promote .out.bad files to golden files"),
  notYet("qmp", "speak QMP on stdin/stdout to an engine"),
  notYet("graph", "print a scenario's final block graph"),
];
