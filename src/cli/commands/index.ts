import type { Command } from "../command.js";
import { notYet } from "../not-yet.js";
import { qmpCommand } from "./qmp.js";
import { check } from "./check.js";
import { runCommand } from "./run.js";
import { acceptCommand } from "./accept.js";
import { graphCommand } from "./graph.js";

/** The command table, in the order `blockcheck --help` lists it. */
export const commands: Command[] = [
  runCommand,
  check,
  acceptCommand,
  qmpCommand,
  graphCommand,
];
