/**
 * Engine sessions for the differential tests and the fixture recorder: a fresh engine in a fresh
 * scratch directory, always stopped and cleaned up.
 */
import type { Engine, EngineFeature } from "../../src/engines/engine.js";
import { withScratchDir } from "./scratch-dir.js";
import { createEngine } from "../../src/engines/factory/create.js";

/** Real qemu-storage-daemon. */
export function qemuEngine(): Engine {
  return createEngine("qemu");
}

/**
 * Start `make()` in a private scratch directory (with `features`, e.g. `io` for qemu-io on QEMU), run
 * `body`, then stop it and remove the directory.
 */
export async function withEngine<T>(make: () => Engine, body: (engine: Engine, workdir: string) => Promise<T>, features?: ReadonlySet<EngineFeature>): Promise<T> {
  return withScratchDir("run", async (workdir) => {
    const engine = make();
    try {
      await engine.start({ workdir, ...(features ? { features } : {}) });
      return await body(engine, workdir);
    } finally {
      await engine.stop();
    }
  });
}
