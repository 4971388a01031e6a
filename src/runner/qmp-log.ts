/**
 * Every QMP command an engine is sent and its reply, in a file in the scratch directory as the
 * reference transcripts write them (`-> {"execute": …}`, `<- {"return": …}`), so that a kept
 * scratch directory tells what was asked of QEMU (or the model) without re-running. The log is a
 * convenience: if it cannot be written (a full disk), logging stops and the run goes on.
 *
 * Only kept scratch directories are ever read, so by default the lines wait in memory and are
 * written when the runner decides to keep the directory (flushQmpLog): a passing run, whose
 * directory is removed, writes nothing. A reply is made text at once even so: kept as the object
 * until the run ends, the graph queries' replies outlived young collections and cost the garbage
 * collector more than the JSON text costs to make (docs/performance.md, sixteenth round). With
 * `writeThrough` (--keep-scratch, where the directory is the user's from the start) each line is
 * written when it happens, so that even a run that is killed leaves its log; a run that hangs or
 * times out is stopped by the runner, which then keeps and flushes it.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import type { Engine } from "../engines/engine.js";

/** Name of the log in the scratch directory. */
export const QMP_LOG = ".qmp.log";

export interface QmpLogOptions {
  /** Write each line as it happens instead of on flushQmpLog (default false). */
  writeThrough?: boolean;
}

/** How to write out the log of each logged engine. */
const flushers = new WeakMap<Engine, () => void>();

/** `engine`, with its qmp() and io() calls logged to `file`. */
export function withQmpLog(engine: Engine, file: string, opts: QmpLogOptions = {}): Engine {
  let broken = false;
  let writeThrough = opts.writeThrough === true;
  let pending: string[] = [];
  // One descriptor, opened at the first write and closed when the engine stops.
  let fd: number | undefined;
  const write = (text: string) => {
    if (broken) return;
    try {
      fd ??= openSync(file, "a");
      writeSync(fd, text);
    } catch {
      broken = true;
    }
  };
  const log = (line: string) => {
    if (writeThrough) write(line + "\n");
    else pending.push(line);
  };
  const close = () => {
    if (fd === undefined) return;
    try {
      closeSync(fd);
    } catch {
      // Nothing more is written to it either way.
    }
    fd = undefined;
  };
  const flush = () => {
    // From here on the directory is kept: later lines go straight to the file.
    writeThrough = true;
    if (pending.length > 0) write(pending.join("\n") + "\n");
    pending = [];
    close();
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
  const proxy = new Proxy(engine, {
    get(target, prop) {
      if (prop === "qmp") {
        return (command: string, args?: Record<string, unknown>) =>
          logged(JSON.stringify(args === undefined ? { execute: command } : { execute: command, arguments: args }), () => target.qmp(command, args), (r) => JSON.stringify(r));
      }
      if (prop === "stop") {
        return async () => {
          try {
            return await target.stop();
          } finally {
            close();
          }
        };
      }
      if (prop === "io" && target.io) {
        return (node: string, command: string) =>
          logged(`io ${node} ${JSON.stringify(command)}`, () => target.io!(node, command), (out) => JSON.stringify(out));
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  flushers.set(proxy, flush);
  return proxy;
}

/** Write out what `engine` (from withQmpLog) has logged and not written yet: its directory is kept. */
export function flushQmpLog(engine: Engine): void {
  flushers.get(engine)?.();
}
