/**
 * What a QEMU binary can do: its version (query-version) and the block drivers blockdev-add accepts
 * (the BlockdevDriver enum, found through query-qmp-schema). The schema is ~100 KiB and costs more than
 * starting the daemon, so both are cached per binary, keyed by its resolved path, size and mtime: a
 * rebuilt binary is asked again. The default cache also keeps them in a file across runs (the first
 * start of each binary in a run spent 30 ms on qemu-storage-daemon's schema and 75 ms on
 * qemu-system's); both are compiled into the binary, so its path, size and mtime decide them.
 */
import { readFileSync, realpathSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { userCacheDir, writeCacheFile } from "../../cache-dir.js";
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

export interface CapabilityCacheOptions {
  /**
   * A JSON file that keeps the entries across processes: read at the first lookup, rewritten
   * (atomically) when an entry is added. It is only a cache: a file that cannot be read or written,
   * or does not hold what this version writes, is ignored.
   */
  file?: string;
}

/** Memoises capabilities per binary file; engines share the default below unless given their own. */
export class CapabilityCache {
  readonly #entries = new Map<string, Capabilities>();
  /** Binary as configured → resolved file, so PATH is searched once, not on every start. */
  readonly #located = new Map<string, string>();
  readonly #file: string | undefined;
  #loaded = false;

  constructor(opts: CapabilityCacheOptions = {}) {
    this.#file = opts.file;
  }

  /** The cached capabilities of this binary, or what `fetch` returns (then cached). Returns a copy. */
  async get(binary: string, fetch: () => Promise<Capabilities>): Promise<Capabilities> {
    const key = await this.#key(binary);
    if (key) this.#load();
    let entry = key ? this.#entries.get(key) : undefined;
    if (!entry) {
      entry = await fetch();
      if (key) {
        this.#entries.set(key, entry);
        this.#save();
      }
    }
    return { version: { ...entry.version }, drivers: [...entry.drivers] };
  }

  #load(): void {
    if (this.#loaded || !this.#file) return;
    this.#loaded = true;
    let stored: unknown;
    try {
      stored = JSON.parse(readFileSync(this.#file, "utf8"));
    } catch {
      return;
    }
    const entries = (stored as { format?: unknown; entries?: unknown })?.format === CACHE_FORMAT ? (stored as { entries: unknown }).entries : undefined;
    if (typeof entries !== "object" || entries === null) return;
    for (const [key, value] of Object.entries(entries)) {
      if (isCapabilities(value) && !this.#entries.has(key)) this.#entries.set(key, value);
    }
  }

  #save(): void {
    // One that cannot be written is asked again next run.
    if (this.#file) writeCacheFile(this.#file, JSON.stringify({ format: CACHE_FORMAT, entries: Object.fromEntries(this.#entries) }) + "\n");
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

/** What the cache file holds; another value is a file of another version, and is ignored. */
const CACHE_FORMAT = "blockcheck qemu capabilities 1";

function isCapabilities(v: unknown): v is Capabilities {
  const c = v as Partial<Capabilities> | null;
  const version = c?.version as Partial<QemuVersion> | undefined;
  return (
    typeof version?.major === "number" &&
    typeof version.minor === "number" &&
    typeof version.micro === "number" &&
    Array.isArray(c?.drivers) &&
    c.drivers.every((d) => typeof d === "string")
  );
}

/** Where the default cache keeps its file: in blockcheck's user cache directory. */
export function defaultCacheFile(env: Record<string, string | undefined> = process.env): string {
  return join(userCacheDir(env), "qemu-capabilities.json");
}

/**
 * Process-wide cache used when an engine is not given its own. Caching across engines is the point:
 * a run starts many QEMUs, and the binary does not change under a run.
 */
export const defaultCapabilityCache = new CapabilityCache({ file: defaultCacheFile() });

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
