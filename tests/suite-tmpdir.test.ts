/** The suite's temporary files are its own (tests/support/private-tmpdir.ts), not the system's. */
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";

it("runs with a TMPDIR made for the suite", () => {
  expect(path.basename(os.tmpdir())).toMatch(/^bc-suite-/);
});
