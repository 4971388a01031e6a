/**
 * What a QEMU binary can do: its version (query-version) and the block drivers blockdev-add accepts
 * (the BlockdevDriver enum, found through query-qmp-schema). The schema is ~100 KiB and costs more than
 * starting the daemon, so both are cached per binary, keyed by its resolved path, size and mtime: a
 * rebuilt binary is asked again.
 */
import { realpathSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import type { QmpReply } from "../engine.js";
import { QemuEngineStateError } from "./errors.js";

export interface QemuVersion {
  major: number;
  minor: number;
  micro: number;
}

/** The version from a query-version reply. */
export function parseVersion(reply: QmpReply): QemuVersion {
  const qemu = "return" in reply ? (reply.return as { qemu?: Partial<QemuVersion> })?.qemu : undefined;
  if (typeof qemu?.major !== "number" || typeof qemu.minor !== "number" || typeof qemu.micro !== "number") {
    throw new QemuEngineStateError(`unexpected query-version reply: ${JSON.stringify(reply)}`);
  }
  return { major: qemu.major, minor: qemu.minor, micro: qemu.micro };
}

interface SchemaEntry {
  name: string;
  "meta-type": string;
  "arg-type"?: string;
  members?: { name: string; type?: string }[];
  values?: string[];
}

/**
 * The BlockdevDriver values from a query-qmp-schema reply. Type names are masked in introspection, so
 * the enum is reached structurally: blockdev-add's argument type, its `driver` member, that member's type.
 */
export function blockdevDrivers(reply: QmpReply): string[] {
  const entries = "return" in reply && Array.isArray(reply.return) ? (reply.return as SchemaEntry[]) : [];
  const byName = new Map(entries.map((e) => [e.name, e]));
  const command = byName.get("blockdev-add");
  const args = command?.["arg-type"] ? byName.get(command["arg-type"]) : undefined;
  const driverType = args?.members?.find((m) => m.name === "driver")?.type;
  const driverEnum = driverType ? byName.get(driverType) : undefined;
  if (driverEnum?.["meta-type"] !== "enum") {
    throw new QemuEngineStateError("query-qmp-schema has no blockdev-add driver enum");
  }
  return driverEnum.values ?? driverEnum.members?.map((m) => m.name) ?? [];
}

/** What the cache holds per binary. */
export interface Capabilities {
  version: QemuVersion;
  drivers: string[];
}

/** Memoises capabilities per binary file; engines share the default below unless given their own. */
export class CapabilityCache {
  readonly #entries = new Map<string, Capabilities>();
  /** Binary as configured → resolved file, so PATH is searched once, not on every start. */
  readonly #located = new Map<string, string>();

  /** The cached capabilities of this binary, or what `fetch` returns (then cached). Returns a copy. */
  async get(binary: string, fetch: () => Promise<Capabilities>): Promise<Capabilities> {
    const key = await this.#key(binary);
    let entry = key ? this.#entries.get(key) : undefined;
    if (!entry) {
      entry = await fetch();
      if (key) this.#entries.set(key, entry);
    }
    return { version: { ...entry.version }, drivers: [...entry.drivers] };
  }

  /** "path|size|mtime" of the binary as it will be run, or undefined if it cannot be found. */
  async #key(binary: string): Promise<string | undefined> {
    const known = this.#located.get(binary);
    if (known) {
      const key = fileKey(known);
      if (key) return key;
      this.#located.delete(binary);
    }
    for (const candidate of candidates(binary)) {
      try {
        const path = realpathSync(candidate);
        const key = fileKey(path);
        if (key) {
          this.#located.set(binary, path);
          return key;
        }
      } catch {
        // Not in this PATH entry.
      }
    }
    return undefined;
  }
}

/**
 * Process-wide cache used when an engine is not given its own. Caching across engines is the point:
 * every scenario starts a fresh QEMU, and the binary does not change under a run.
 */
export const defaultCapabilityCache = new CapabilityCache();

function candidates(binary: string): string[] {
  if (binary.includes("/")) return [binary];
  return (process.env.PATH ?? "").split(delimiter).filter(Boolean).map((dir) => join(dir, binary));
}

/** (Synchronous: one stat per engine start, cheaper than a thread-pool round trip.) */
function fileKey(path: string): string | undefined {
  try {
    const info = statSync(path);
    return info.isFile() ? `${path}|${info.size}|${info.mtimeMs}` : undefined;
  } catch {
    return undefined;
  }
}
