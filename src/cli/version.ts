/** blockcheck's version, from its package.json. */
import { readFile } from "node:fs/promises";

/**
 * The `version` field of the package.json two folders up: from src/cli/ in the repository and from
 * dist/cli/ in a build or an installed package alike.
 */
export async function blockcheckVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { version?: unknown };
  if (typeof pkg.version !== "string") throw new Error("package.json has no version");
  return pkg.version;
}
