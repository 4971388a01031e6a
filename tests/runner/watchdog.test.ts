import { execa } from "execa";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const entry = fileURLToPath(new URL("./fixtures/model-stuck.mts", import.meta.url));
const tsx = import.meta.resolve("tsx");

function run(args: string[], limitMs: number) {
  return execa(process.execPath, ["--import", tsx, entry, ...args], {
    env: { BLOCKCHECK_MODEL_WATCHDOG_MS: String(limitMs) },
    reject: false,
    timeout: 30_000,
  });
}

describe("the model watchdog", () => {
  it("kills a process whose model never returns from a command, naming the scenario and the command", async () => {
    const r = await run(["loop"], 1000);
    expect(r.timedOut).toBe(false);
    expect(r.signal).toBe("SIGKILL");
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(
      /^blockcheck: internal error \(this is a bug\): the model engine has not returned for \d+ s in tests\/scenarios\/stuck\.scn: 'query-named-block-nodes' \(a loop in the model that never ends\); the run is killed$/,
    );
  });

  it("leaves alone a process that waits longer than the limit with its event loop turning", async () => {
    const r = await run(["wait", "3000"], 1000);
    expect(r.signal).toBeUndefined();
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("returned");
    expect(r.stderr).toBe("");
  });
});
