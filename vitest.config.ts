import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // QEMU-backed tests start real processes; give them room without hiding hangs.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // TMPDIR for the whole suite, removed at its end: failed scenarios keep their scratch directories.
    globalSetup: ["tests/support/private-tmpdir.ts"],
  },
});
