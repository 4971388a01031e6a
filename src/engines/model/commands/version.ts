/** query-version, and the greeting built from the same data (as qemu-storage-daemon 7.2.22 on Debian sends them). */
import type { CommandHandler } from "./handler.js";

export const MODEL_VERSION = { major: 7, minor: 2, micro: 22 } as const;
export const MODEL_PACKAGE = "Debian 1:7.2+dfsg-7+deb12u18+b3";

/** VersionInfo in QAPI member order. */
export function versionInfo(): Record<string, unknown> {
  return { qemu: { ...MODEL_VERSION }, package: MODEL_PACKAGE };
}

export const queryVersion: CommandHandler = () => versionInfo();
