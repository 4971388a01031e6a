/**
 * Test helper: a tiny Engine that answers like qemu-storage-daemon 7.2.22 for the few commands the
 * stdio tests use (query-version, unknown commands, qmp_capabilities in command mode), validating
 * arguments with the model's QAPI layer. It records calls and can queue events.
 */
import type { Engine, EngineInfo, EngineStopOutcome, QmpEvent, QmpReply } from "../../src/engines/engine.js";
import { validateQmpCommand } from "../../src/qapi/validate.js";

export const QSD_GREETING = {
  QMP: {
    version: { qemu: { micro: 22, minor: 2, major: 7 }, package: "Debian 1:7.2+dfsg-7+deb12u18+b3" },
    capabilities: ["oob"],
  },
};

export class FakeEngine implements Engine {
  readonly kind = "model" as const;
  calls: [string, Record<string, unknown> | undefined][] = [];
  events: QmpEvent[] = [];
  stopped = 0;

  constructor(private readonly greeting: Record<string, unknown> = QSD_GREETING) {}

  describe(): EngineInfo {
    return { kind: "model", version: { major: 7, minor: 2, micro: 22 }, drivers: [], features: new Set(), greeting: this.greeting };
  }
  async start(): Promise<void> {}
  async createImage(): Promise<void> {}
  async qmp(command: string, args?: Record<string, unknown>): Promise<QmpReply> {
    this.calls.push([command, args]);
    const v = validateQmpCommand(command, args);
    if (!v.ok) return { error: v.error };
    if (command === "qmp_capabilities") {
      return { error: { class: "CommandNotFound", desc: "Capabilities negotiation is already complete, command ignored" } };
    }
    if (command === "query-version") return { return: (this.greeting as typeof QSD_GREETING).QMP.version };
    if (command === "quit") return { return: {} };
    return { error: { class: "GenericError", desc: `fake engine: ${command} not modelled` } };
  }
  takeEvents(): QmpEvent[] {
    return this.events.splice(0);
  }
  async waitEvent(name: string): Promise<QmpEvent> {
    throw new Error(`fake engine has no event ${name}`);
  }
  async io(): Promise<string> {
    throw new Error("fake engine has no io");
  }
  async stop(): Promise<EngineStopOutcome> {
    this.stopped++;
    return { kind: "clean" };
  }
}
