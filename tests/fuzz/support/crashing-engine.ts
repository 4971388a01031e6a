/**
 * A stand-in for a QEMU that crashes: the real model engine, reporting itself as the qemu engine,
 * that dies (EngineCrashedError, and stop() says so) when it is sent a command `dies` picks out.
 * Everything else it answers as the model does, so the two "engines" agree until the crash.
 */
import type { Engine, EngineStopOutcome, ExitStatus } from "../../../src/engines/engine.js";
import { EngineCrashedError } from "../../../src/engines/errors.js";
import { ModelEngine } from "../../../src/engines/model/model-engine.js";

export function crashingEngine(dies: (command: string, args: Record<string, unknown> | undefined) => boolean, signal = "SIGSEGV", log = ""): Engine {
  const model = new ModelEngine();
  const exit: ExitStatus = { exitCode: undefined, signal };
  let crashed = false;
  return new Proxy(model, {
    get(target, prop) {
      if (prop === "kind") return "qemu";
      if (prop === "qmp") {
        return async (command: string, args?: Record<string, unknown>) => {
          if (crashed || dies(command, args)) {
            crashed = true;
            throw new EngineCrashedError(command, exit, `QEMU died during '${command}' (killed by signal ${signal})`);
          }
          return target.qmp(command, args);
        };
      }
      if (prop === "stop") {
        return async (): Promise<EngineStopOutcome> => {
          await target.stop();
          return crashed ? { kind: "crashed", exit, logTail: log } : { kind: "clean" };
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
