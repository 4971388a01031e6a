/**
 * `--trace`: what the runner asks of an engine and what it answers, as it happens, step by step —
 * every QMP command with its full arguments (above all the blockdev-reopen options the runner
 * builds from a `reopen` statement) and reply, images, qemu-io commands and output, and events.
 * It wraps the engine at the runner's side of the seam, so both engines are traced alike and
 * neither knows. Every line names its run (several run at once with -j) and is written whole.
 *
 *   [reopen/detach (model)] tests/scenarios/reopen/detach.scn:12: reopen top backing=null
 *   [reopen/detach (model)]   -> {"execute":"blockdev-reopen","arguments":{"options":[…]}}
 *   [reopen/detach (model)]   <- {"return":{}}
 */
import type { Engine, ImageSpec } from "../engines/engine.js";
import type { Statement } from "../language/ast.js";

/** Statements that only describe the scenario: nothing runs for them, so they are not traced. */
const METADATA = new Set<Statement["type"]>(["title", "tags", "require", "each"]);

/** Where trace lines go (one call per line, without the newline). */
export type TraceSink = (line: string) => void;

/** The trace of one scenario run: its engine calls, and the steps they belong to. */
export interface RunTrace {
  /** The engine, with every call traced. */
  engine: Engine;
  /** Announce a statement about to run. */
  step(file: string, stmt: Statement): void;
  /** Anything else worth a line (start, stop). */
  note(text: string): void;
}

/** Trace `engine`'s calls to `sink`, each line prefixed with the run's id. */
export function traceRun(engine: Engine, runId: string, sink: TraceSink): RunTrace {
  const say = (text: string) => {
    for (const line of text.split("\n")) sink(`[${runId}] ${line}`);
  };
  const call = async <T>(request: string, run: () => Promise<T>, reply: (r: T) => string | undefined): Promise<T> => {
    say(`  -> ${request}`);
    try {
      const r = await run();
      const shown = reply(r);
      if (shown !== undefined) say(`  <- ${shown}`);
      return r;
    } catch (e) {
      say(`  <- (failed: ${e instanceof Error ? e.message.split("\n")[0] : String(e)})`);
      throw e;
    }
  };
  const traced = new Proxy(engine, {
    get(target, prop) {
      switch (prop) {
        case "start":
          return (opts: Parameters<Engine["start"]>[0]) =>
            call(`start ${target.kind}${opts.features?.size ? ` (features: ${[...opts.features].join(", ")})` : ""}`, () => target.start(opts), () => "started");
        case "createImage":
          return (spec: ImageSpec) => call(`image ${JSON.stringify(spec)}`, () => target.createImage(spec), () => "ok");
        case "qmp":
          return (command: string, args?: Record<string, unknown>) =>
            call(JSON.stringify(args === undefined ? { execute: command } : { execute: command, arguments: args }), () => target.qmp(command, args), (r) => JSON.stringify(r));
        case "io":
          return (node: string, command: string) => call(`qemu-io ${node} ${JSON.stringify(command)}`, () => target.io(node, command), (out) => JSON.stringify(out));
        case "waitEvent":
          return (name: string, opts: Parameters<Engine["waitEvent"]>[1]) =>
            call(`wait for event ${name}${opts.match ? ` matching ${JSON.stringify(opts.match)}` : ""}`, () => target.waitEvent(name, opts), (ev) => JSON.stringify(ev));
        case "takeEvents":
          return () => {
            const events = target.takeEvents();
            for (const ev of events) say(`  <- ${JSON.stringify(ev)}`);
            return events;
          };
        case "stop":
          return () => call("stop", () => target.stop(), (outcome) => JSON.stringify(outcome));
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    engine: traced,
    step: (file, stmt) => {
      if (!METADATA.has(stmt.type)) say(`${file}:${stmt.location.start.line}: ${stmt.text}`);
    },
    note: say,
  };
}
