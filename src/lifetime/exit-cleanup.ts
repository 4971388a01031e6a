/**
 * Cleanups that must happen however the process ends: scratch directories and temporary golden
 * files still in use when Ctrl-C, SIGTERM or SIGHUP arrives, or when something calls process.exit().
 * (SIGKILL runs nothing; what it leaves, the next run sweeps: see owner.ts.)
 *
 * Like the qemu engine's reaper, this is deliberate process-wide state: handlers are installed while
 * a cleanup is registered and removed with the last. They are appended, so the reaper (which
 * prepends) has killed QEMU before directories go. After cleaning up, the handler lets the signal
 * have its normal effect: it re-raises it when no other listener is left, and otherwise leaves the
 * decision to the others (an application's own handler, or execa's signal-exit, which re-raises
 * when it is alone).
 */

/** A synchronous cleanup; must not throw. */
export type Cleanup = () => void;

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const pending = new Set<Cleanup>();
let installed = false;

/** Run `cleanup` if the process ends before the returned function is called (which forgets it). */
export function cleanupOnExit(cleanup: Cleanup): () => void {
  pending.add(cleanup);
  if (!installed) install();
  return () => {
    pending.delete(cleanup);
    if (pending.size === 0 && installed) uninstall();
  };
}

/** How many cleanups are registered (for tests). */
export function pendingCleanups(): number {
  return pending.size;
}

function runAll(): void {
  for (const cleanup of [...pending]) {
    try {
      cleanup();
    } catch {
      // Best effort: one cleanup that fails must not stop the others.
    }
  }
  pending.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  runAll();
  uninstall();
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  installed = true;
  for (const signal of SIGNALS) process.on(signal, onSignal);
  process.on("exit", runAll);
}

function uninstall(): void {
  installed = false;
  for (const signal of SIGNALS) process.off(signal, onSignal);
  process.off("exit", runAll);
}
