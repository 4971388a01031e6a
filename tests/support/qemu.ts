/**
 * Whether tests that need real QEMU run. They run whenever the binaries are installed; with CI set, a
 * missing QEMU is a failure (the suite below fails loudly), never a silent skip.
 */
import { execFileSync } from "node:child_process";
import { describe, it } from "vitest";

const binaries = {
  qsd: process.env.QSD_PROG ?? "qemu-storage-daemon",
  qemu: process.env.QEMU_PROG ?? "qemu-system-x86_64",
  img: process.env.QEMU_IMG_PROG ?? "qemu-img",
  io: process.env.QEMU_IO_PROG ?? "qemu-io",
};

function works(bin: string): boolean {
  try {
    execFileSync(bin, ["--version"], { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** True when every QEMU binary blockcheck uses answers `--version`. */
export const qemuAvailable: boolean = Object.values(binaries).every(works);

/**
 * `describe` for suites that need QEMU: runs them when QEMU is installed; without QEMU it skips them
 * locally but, with CI set, registers a failing test instead.
 */
export function describeWithQemu(name: string, body: () => void): void {
  if (qemuAvailable) {
    describe(name, body);
  } else if (process.env.CI) {
    describe(name, () => {
      it("needs QEMU, which CI must install", () => {
        throw new Error(`QEMU binaries not found (${Object.values(binaries).join(", ")}); CI must install them`);
      });
    });
  } else {
    describe.skip(`${name} (QEMU not installed)`, body);
  }
}
