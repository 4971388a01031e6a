/**
 * The one root of blockcheck's typed errors.
 *
 * Every error a user can cause (bad scenario, bad flag, QEMU that crashed) is a BlockcheckError with
 * a stable `code`; anything else reaching the CLI's top level is a bug and is reported as one.
 */
export class BlockcheckError extends Error {
  /** Stable, machine-readable identifier, e.g. "E_PARSE", "E_QEMU_CRASHED". */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A command-line mistake: unknown flag, missing argument. The CLI exits 2. */
export class UsageError extends BlockcheckError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("E_USAGE", message, options);
  }
}

/** A bad configuration file or environment (e.g. a binary named in QEMU_PROG that does not exist). */
export class ConfigError extends BlockcheckError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("E_CONFIG", message, options);
  }
}
