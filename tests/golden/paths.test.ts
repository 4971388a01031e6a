/** The golden naming rule: injective, inside the golden root, and unchanged for plain names. */
import fc from "fast-check";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { assertDistinctGoldens } from "../../src/golden/collisions.js";
import { commonGoldenPath, engineGoldenPath, goldenStem, resolveGoldenPath, type GoldenName } from "../../src/golden/paths.js";

const g = (name: string, ...bindings: Array<[string, string]>): GoldenName => ({ name, bindings });

describe("golden paths", () => {
  it("keeps plain names as they were", () => {
    expect(commonGoldenPath(g("reopen/detach-backing"))).toBe("reopen/detach-backing.out");
    expect(commonGoldenPath(g("language/parameters", ["fmt", "qcow2"]))).toBe("language/parameters.fmt=qcow2.out");
    expect(commonGoldenPath(g("a", ["x", "1"], ["y", "b_c"]))).toBe("a.x=1,y=b_c.out");
    expect(engineGoldenPath(g("reopen/detach"), "model")).toBe("reopen/detach.model.out");
  });

  it("encodes what could climb out or imitate another name", () => {
    expect(commonGoldenPath(g("sub/a", ["p", "../../../x"]))).toBe("sub/a.p=%2E%2E%2F%2E%2E%2F%2E%2E%2Fx.out");
    expect(commonGoldenPath(g("y.p=a"))).toBe("y%2Ep=a.out");
    expect(commonGoldenPath(g("x.model"))).toBe("x%2Emodel.out");
    expect(commonGoldenPath(g("x", ["p", "a.model"]))).toBe("x.p=a%2Emodel.out");
    expect(commonGoldenPath(g("50%/x"))).toBe("50%25/x.out");
    expect(commonGoldenPath(g("x", ["p", "é,="]))).toBe("x.p=%C3%A9%2C%3D.out");
  });

  it("normalizes scenario paths and refuses names outside the root", () => {
    expect(goldenStem("x//y")).toBe("x/y");
    expect(goldenStem("x/./y")).toBe("x/y");
    for (const bad of ["../x", "/abs/x", "a/../../x", "", "."]) expect(() => goldenStem(bad)).toThrow(/not a path inside the scenario root/);
  });

  it("resolves only paths strictly inside the golden root", () => {
    expect(resolveGoldenPath("/g", "a/b.out")).toBe(path.resolve("/g/a/b.out"));
    for (const bad of ["../x.out", "a/../../x.out", "/etc/x.out", "."]) expect(() => resolveGoldenPath("/g", bad)).toThrow(/leaves the golden root/);
  });

  it("is injective over names, parameters and engines, and never leaves the root", () => {
    // Strings built from the pieces names are made of, so that near-collisions come up often.
    const tokens = (...t: string[]) => fc.array(fc.constantFrom(...t), { minLength: 1, maxLength: 4 }).map((a) => a.join(""));
    const segment = tokens("a", ".", "=", ",", "%", "%2E", "model", "qemu", "p=a", ".out", "é").filter((s) => s !== "." && s !== "..");
    const name = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join("/"));
    const value = tokens("a", ".", "/", "..", "=", ",", "%", "%2F", "model", ".model", "p=a");
    const golden = fc.record({
      name,
      bindings: fc.uniqueArray(fc.tuple(fc.constantFrom("p", "q", "p.q"), value), { maxLength: 2, selector: (b) => b[0] }),
    });
    const engine = fc.constantFrom(undefined, "model" as const, "qemu" as const);
    fc.assert(
      fc.property(golden, engine, (x, e) => {
        const f = e ? engineGoldenPath(x, e) : commonGoldenPath(x);
        expect(resolveGoldenPath("/g", f).startsWith("/g/")).toBe(true);
        // Injective: the file name alone gives back the scenario, its parameters and the engine.
        expect(decode(f)).toEqual({ name: x.name, bindings: x.bindings, engine: e });
      }),
      { numRuns: 2000 },
    );
  });

  it("a collision names both scenarios", () => {
    expect(() =>
      assertDistinctGoldens([
        { ...g("x"), label: "tests/scenarios/x.scn" },
        { ...g("x/./y"), label: "first" },
        { ...g("x//y"), label: "second" },
      ]),
    ).toThrow("first and second would share the golden file x/y.out; rename one of them");
  });
});

/** The inverse of the naming rule, as the rule's comment states it (test only). */
function decode(file: string): { name: string; bindings: Array<[string, string]>; engine: string | undefined } {
  const segments = file.split("/");
  const [stem, ...parts] = segments.pop()!.split(".");
  expect(parts.pop()).toBe("out");
  const params = parts.find((p) => p.includes("="));
  const engine = parts.find((p) => !p.includes("="));
  expect(parts.length).toBe((params === undefined ? 0 : 1) + (engine === undefined ? 0 : 1));
  return {
    name: [...segments, stem!].map(decodeURIComponent).join("/"),
    bindings: params === undefined ? [] : params.split(",").map((kv) => kv.split("=").map(decodeURIComponent) as [string, string]),
    engine,
  };
}
