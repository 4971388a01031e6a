import { BlockcheckError, ConfigError } from "../errors.js";
import type { Location } from "../language/ast.js";

/**
 * A statement that cannot be turned into engine commands: an image path leaving the scratch
 * directory, an implicit-node path that does not resolve, a value of the wrong kind. Located at the
 * statement (or value) to blame.
 */
export class StepError extends BlockcheckError {
  readonly location: Location;

  constructor(message: string, location: Location, options?: { cause?: unknown }) {
    super("E_STEP", message, options);
    this.location = location;
  }
}

/** A scenario run took longer than its timeout; the engine was stopped. */
export class ScenarioTimeoutError extends BlockcheckError {
  constructor(readonly timeoutMs: number) {
    super("E_TIMEOUT", `timed out after ${timeoutMs / 1000}s`);
  }
}

/**
 * A command whose PATHs and filters select no scenario: a run that tests nothing must not pass as
 * green (`--pass-with-none` allows it). Not a usage error: the command line is well formed, the
 * selection is just empty (as a test runner's "no tests found"), so the CLI exits 1.
 */
export class NoScenarioSelectedError extends BlockcheckError {
  constructor(
    readonly selection: string,
    /** Whether the command has --pass-with-none to suggest. */
    passWithNone = true,
  ) {
    super("E_NO_SCENARIO", `no scenario selected: ${selection}${passWithNone ? " (pass --pass-with-none to allow that)" : ""}`);
  }
}

/**
 * The qemu engine cannot run here: a QEMU binary is missing, or a `*_PROG` variable (or the
 * configuration's `binaries`) names something that cannot be run. Found once, before anything runs,
 * or by the first scenario that tries: either way the run stops (exit 2) instead of failing every
 * scenario with the same reason.
 */
export class QemuUnavailableError extends ConfigError {
  constructor(readonly problems: readonly string[]) {
    super(
      [
        "the qemu engine cannot run:",
        ...problems.map((p) => `  ${p}`),
        "install QEMU 7.2 (Debian: apt-get install qemu-system-common qemu-system-x86 qemu-utils), or point",
        "QSD_PROG, QEMU_PROG, QEMU_IMG_PROG and QEMU_IO_PROG (or \"binaries\" in blockcheck.config.json) at its binaries",
      ].join("\n"),
    );
  }
}
