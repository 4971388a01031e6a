/**
 * cli.json, written by scripts/bundle.ts beside the bundled CLI: which file is the CommonJS bundle
 * and the SHA-256 of its content. The hash identifies the build: it keys the caches whose content
 * depends on the code (V8's code cache, loaded scenarios). Run from the sources, there is none.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const BUNDLE_MANIFEST = "cli.json";

export interface BundleManifest {
  /** The CommonJS bundle, beside the manifest. */
  file: string;
  sha256: string;
}

/** The manifest in `dir`, or undefined when there is none or it is not one. */
export function readBundleManifest(dir: string): BundleManifest | undefined {
  let value: Partial<BundleManifest>;
  try {
    value = JSON.parse(readFileSync(path.join(dir, BUNDLE_MANIFEST), "utf8")) as Partial<BundleManifest>;
  } catch {
    return undefined;
  }
  if (typeof value.file !== "string" || typeof value.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(value.sha256)) return undefined;
  return { file: value.file, sha256: value.sha256 };
}

/**
 * The build this code belongs to: the hash in the manifest beside the running bundle (the module
 * is bundled into dist/bundle/ with it); undefined when run from the sources.
 */
export function ownBuildId(): string | undefined {
  return readBundleManifest(path.dirname(fileURLToPath(import.meta.url)))?.sha256;
}
