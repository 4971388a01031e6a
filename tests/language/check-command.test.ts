import { describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.js";
import { fakeIo } from "./helpers.js";

function withDir(files: Record<string, string>, body: (dir: string) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), "blockcheck-check-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return body(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

describe("blockcheck check", () => {
  it("the scenario corpus is valid (exit 0)", async () => {
    const t = fakeIo();
    expect(await main(["check", "tests/scenarios"], t.io)).toBe(0);
    expect(t.out()).toMatch(/^\d+ scenario files OK\n$/);
  });

  it("recurses into directories for *.scn only, in a stable order", async () => {
    await withDir(
      { "b/z.scn": "del nosuch", "a/y.scn": "reopn", "a/notes.txt": "not a scenario", "ok.scn": 'scenario "fine"' },
      async (dir) => {
        const t = fakeIo(dir);
        expect(await main(["check", "."], t.io)).toBe(1);
        const headers = t.out().split("\n").filter((l) => /^\S+\.scn:\d/.test(l));
        expect(headers).toEqual(["a/y.scn:1:1: error: unknown command 'reopn'", "b/z.scn:1:5: error: unknown node 'nosuch'"]);
        expect(t.out()).toContain("2 of 3 scenario files invalid");
      },
    );
  });

  it("defaults to tests/scenarios", async () => {
    await withDir({ "tests/scenarios/x.scn": 'scenario "x"' }, async (dir) => {
      const t = fakeIo(dir);
      expect(await main(["check"], t.io)).toBe(0);
      expect(t.out()).toBe("1 scenario file OK\n");
    });
  });

  it("a missing path is a usage error (exit 2)", async () => {
    const t = fakeIo();
    expect(await main(["check", "no/such/place.scn"], t.io)).toBe(2);
    expect(t.err()).toContain("no such file or directory: no/such/place.scn");
  });

  it("help comes from the command table", async () => {
    const t = fakeIo();
    expect(await main(["help", "check"], t.io)).toBe(0);
    expect(t.out()).toContain("usage: blockcheck check [PATH…]");
  });
});
