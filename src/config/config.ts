/**
 * blockcheck's configuration: `blockcheck.config.json` in the working directory, or else a
 * `blockcheck` key in package.json, or else the defaults. Command-line flags win over all of it.
 *
 * ```json
 * {
 *   "scenarios": "tests/scenarios",
 *   "golden": "golden",
 *   "engine": "model",
 *   "jobs": 4,
 *   "timeout": 60,
 *   "binaries": { "qsd": "qemu-storage-daemon", "qemu": "qemu-system-x86_64", "img": "qemu-img", "io": "qemu-io" }
 * }
 * ```
 * An unknown key or a value of the wrong type is a ConfigError naming file:line:col (exit 2).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { EngineKind } from "../engines/engine.js";
import { ConfigError } from "../errors.js";
import { didYouMean } from "../text/did-you-mean.js";
import { parseJsonDocument, type JsonDocument } from "./json-location.js";

export type EngineChoice = EngineKind | "both";

export interface BlockcheckConfig {
  /** Scenario root, absolute. */
  scenarios: string;
  /** Golden root, absolute. */
  golden: string;
  engine: EngineChoice;
  /** Parallel runs; undefined: run-options.ts `defaultJobs` (the cores, 1.5 times that with QEMU). */
  jobs?: number;
  /** Per-scenario timeout in seconds. */
  timeout: number;
  /** QEMU binaries (each wins over QSD_PROG, QEMU_PROG, QEMU_IMG_PROG, QEMU_IO_PROG). */
  binaries: Partial<Record<"qsd" | "qemu" | "img" | "io", string>>;
  /** Where the configuration came from ("defaults" when nowhere). */
  source: string;
}

const KEYS = ["scenarios", "golden", "engine", "jobs", "timeout", "binaries"] as const;
const BINARY_KEYS = ["qsd", "qemu", "img", "io"] as const;

/** Defaults relative to `cwd`. */
export function defaultConfig(cwd: string): BlockcheckConfig {
  return {
    scenarios: path.resolve(cwd, "tests/scenarios"),
    golden: path.resolve(cwd, "golden"),
    engine: "model",
    timeout: 60,
    binaries: {},
    source: "defaults",
  };
}

/** Load the configuration for `cwd`. */
export async function loadConfig(cwd: string): Promise<BlockcheckConfig> {
  const own = path.join(cwd, "blockcheck.config.json");
  const ownText = await readFile(own, "utf8").catch(() => undefined);
  const shown = (f: string) => path.relative(cwd, f) || f;
  if (ownText !== undefined) return fromObject(parseJsonDocument(ownText, shown(own)), shown(own), cwd, []);
  const pkg = path.join(cwd, "package.json");
  const pkgText = await readFile(pkg, "utf8").catch(() => undefined);
  if (pkgText !== undefined) {
    const doc = parseJsonDocument(pkgText, shown(pkg));
    if (isObject(doc.value) && "blockcheck" in doc.value) return fromObject(doc, shown(pkg), cwd, ["blockcheck"]);
  }
  return defaultConfig(cwd);
}

/** `file` is the name shown in messages (relative to cwd); `at` the key path of the section in `doc`. */
function fromObject(doc: JsonDocument, file: string, cwd: string, at: string[]): BlockcheckConfig {
  const data = at.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], doc.value);
  const where = (keyPath: string[]) => `${doc.where([...at, ...keyPath])}: `;
  const fail = (keyPath: string[], msg: string): never => {
    throw new ConfigError(`${where(keyPath)}${msg}`);
  };
  if (!isObject(data)) fail([], "the configuration must be a JSON object");
  const obj = data as Record<string, unknown>;
  const config = defaultConfig(cwd);
  config.source = file;
  for (const [key, value] of Object.entries(obj)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      const hint = didYouMean(key, KEYS);
      fail([key], `unknown configuration key '${key}'${hint ? ` (did you mean '${hint}'?)` : ""}; keys: ${KEYS.join(", ")}`);
    }
    switch (key) {
      case "scenarios":
      case "golden":
        if (typeof value !== "string" || value === "") fail([key], `'${key}' must be a directory path`);
        config[key] = path.resolve(cwd, value as string);
        break;
      case "engine":
        if (value !== "model" && value !== "qemu" && value !== "both") fail([key], "'engine' must be model, qemu or both");
        config.engine = value as EngineChoice;
        break;
      case "jobs":
      case "timeout":
        if (typeof value !== "number" || !(value > 0) || (key === "jobs" && !Number.isInteger(value))) {
          fail([key], `'${key}' must be a positive ${key === "jobs" ? "integer" : "number (seconds)"}`);
        }
        config[key] = value as number;
        break;
      case "binaries":
        if (!isObject(value)) fail([key], "'binaries' must be an object");
        for (const [b, v] of Object.entries(value as Record<string, unknown>)) {
          if (!(BINARY_KEYS as readonly string[]).includes(b)) {
            fail([key, b], `unknown binary '${b}'; binaries: ${BINARY_KEYS.join(", ")}`);
          }
          if (typeof v !== "string" || v === "") fail([key, b], `binary '${b}' must be a program name or path`);
          config.binaries[b as (typeof BINARY_KEYS)[number]] = v as string;
        }
        break;
    }
  }
  return config;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
