/**
 * Every QMP command an engine is sent and its reply, appended to a file in the scratch directory as
 * the reference transcripts write them (`-> {"execute": …}`, `<- {"return": …}`), so that a kept
 * scratch directory tells what was asked of QEMU (or the model) without re-running. Each line is
 * written when it happens, so a run that hangs or is killed still leaves its log. The log is a
 * convenience: if it cannot be written (a full disk), logging stops and the run goes on.
 */
import { appendFileSync } from "node:fs";
import type { Engine } from "../engines/engine.js";

/** Name of the log in the scratch directory. */
export const QMP_LOG = ".qmp.log";

/** `engine`, with its qmp() and io() calls logged to `file`. */
export function withQmpLog(engine: Engine, file: string): Engine {
  let broken = false;
  const log = (line: string) => {
    if (broken) return;
    try {
      appendFileSync(file, line + "\n");
    } catch {
      broken = true;
    }
  };
  const logged = async <T>(request: string, call: () => Promise<T>, reply: (r: T) => string): Promise<T> => {
    log(`-> ${request}`);
    try {
      const r = await call();
      log(`<- ${reply(r)}`);
      return r;
    } catch (e) {
      log(`<- (no reply: ${e instanceof Error ? e.message.split("\n")[0] : String(e)})`);
      throw e;
    }
  };
  // A proxy rather than a wrapper class: every other member (and any the interface gains) passes
  // through untouched, bound to the engine itself so its private fields work.
  return new Proxy(engine, {
    get(target, prop) {
      if (prop === "qmp") {
        return (command: string, args?: Record<string, unknown>) =>
          logged(JSON.stringify(args === undefined ? { execute: command } : { execute: command, arguments: args }), () => target.qmp(command, args), (r) => JSON.stringify(r));
      }
      if (prop === "io" && target.io) {
        return (node: string, command: string) =>
          logged(`io ${node} ${JSON.stringify(command)}`, () => target.io!(node, command), (out) => JSON.stringify(out));
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
