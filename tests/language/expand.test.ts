import { describe, expect, it } from "vitest";
import { expandParameters, parseScenario } from "../../src/language/index.js";

function expand(text: string) {
  const { scenario, diagnostics } = parseScenario(text, "t.scn");
  expect(diagnostics).toEqual([]);
  return expandParameters(scenario);
}

describe("expandParameters", () => {
  it("a scenario without each gives one run with no suffix", () => {
    const runs = expand("add a: null-co");
    expect(runs.map((r) => [r.bindings, r.suffix])).toEqual([[{}, ""]]);
  });

  it("one run per value, $name substituted everywhere, statement text included", () => {
    const runs = expand('each fmt in qcow2 raw\nimage d.$fmt $fmt 1M\nadd top: $fmt file=(file filename="d.$fmt")');
    expect(runs.map((r) => r.suffix)).toEqual(["fmt=qcow2", "fmt=raw"]);
    const add = runs[1]!.scenario.statements[2]!;
    expect(add).toMatchObject({
      type: "add",
      driver: { name: "raw" },
      text: 'add top: raw file=(file filename="d.raw")',
      options: [{ value: { type: "child", options: [{ value: { type: "string", value: "d.raw" } }] } }],
    });
    expect(runs[0]!.scenario.statements[1]).toMatchObject({ type: "image", path: { value: "d.qcow2" }, format: { name: "qcow2" } });
  });

  it("several each statements give the cartesian product, first one outermost", () => {
    const runs = expand("each a in 1 2\neach b in x y");
    expect(runs.map((r) => r.suffix)).toEqual(["a=1,b=x", "a=1,b=y", "a=2,b=x", "a=2,b=y"]);
    expect(runs[3]!.bindings).toEqual({ a: "2", b: "y" });
  });

  it("node references, JSON and error texts are substituted; locations are kept", () => {
    const [run] = expand('each n in top\ndel $n/file -> error "no $n"\nqmp x {"node-name": "$n", "k": ["$n"]}');
    const [, del, qmp] = run!.scenario.statements;
    expect(del).toMatchObject({ node: { text: "top/file", root: "top", path: ["file"], location: { start: { line: 2, column: 5 } } } });
    expect(del!.expectation).toMatchObject({ match: { text: "no top" } });
    expect(qmp).toMatchObject({ args: { value: { "node-name": "top", k: ["top"] } } });
  });

  it("a word that becomes a number or a boolean takes that type; $$ is a literal $", () => {
    const [run] = expand('each s in 64k\neach ro in on\nadd a: null-co size=$s read-only=$ro\nqmp x {"a": "$$x $TEST_DIR"}');
    expect(run!.scenario.statements[2]).toMatchObject({
      options: [{ value: { type: "number", value: 65536, raw: "64k" } }, { value: { type: "bool", value: true, raw: "on" } }],
    });
    expect(run!.scenario.statements[3]).toMatchObject({ args: { value: { a: "$x $TEST_DIR" } } });
  });

  it("a parameter standing alone as a JSON value takes the type its value reads as", () => {
    const text = [
      "each size in 1M 0.5 x true null",
      'qmp block_resize {"node-name": "n", "size": $size, "list": [$size, "$size"], "o": {"__proto__": $size}}',
    ].join("\n");
    const values = expand(text).map((r) => (r.scenario.statements[1] as { args: { value: Record<string, unknown> } }).args.value);
    expect(values.map((v) => v["size"])).toEqual([1048576, 0.5, "x", true, null]);
    expect(values[0]!["list"]).toEqual([1048576, "1M"]);
    expect(Object.getOwnPropertyDescriptor(values[2]!["o"], "__proto__")?.value).toBe("x");
    expect(expand(text)[0]!.scenario.statements[1]).toMatchObject({ text: 'qmp block_resize {"node-name": "n", "size": 1M, "list": [1M, "1M"], "o": {"__proto__": 1M}}' });
  });

  it("JSON keys are substituted too, as the statement text shows them, bare values under them retyped", () => {
    const [run] = expand('each side in target\neach n in 5\nqmp x {"on-$side-error": "enospc", "o": {"$side": $n}}');
    const qmp = run!.scenario.statements[2] as { args: { value: Record<string, unknown> }; text: string };
    expect(qmp.text).toBe('qmp x {"on-target-error": "enospc", "o": {"target": 5}}');
    expect(qmp.args.value).toEqual({ "on-target-error": "enospc", o: { target: 5 } });
  });

  it("does not change the scenario it was given", () => {
    const { scenario } = parseScenario("each f in a\nadd n: null-co x=$f", "t.scn");
    const before = JSON.stringify(scenario);
    expandParameters(scenario);
    expect(JSON.stringify(scenario)).toBe(before);
  });
});
