/**
 * The order scenarios start in with several lanes (runner/order.ts): the slowest of the last run
 * first, so that none ends the run alone; file order without times, and with one lane.
 */
import { afterEach, describe, expect, it } from "vitest";
import { slowestFirst } from "../../src/runner/order.js";
import type { Reporter } from "../../src/runner/reporter.js";
import { runScenarios } from "../../src/runner/run-all.js";
import { nullScenario, project, type Project } from "./support/project.js";
import { modelRunOptions } from "./support/run-options.js";

const inst = (name: string, suffix = "") => ({ name, suffix });

describe("slowestFirst", () => {
  it("starts the slowest first, an untimed one before all, and keeps file order between equals", () => {
    const times = new Map([
      ["a (qemu)", 10],
      ["b (qemu)", 90],
      ["c (qemu)", 10],
      ["e[fmt=raw] (qemu)", 50],
    ]);
    const order = slowestFirst([inst("a"), inst("b"), inst("c"), inst("d"), inst("e", "fmt=raw")], times, ["qemu"]);
    expect(order.map((i) => i.name)).toEqual(["d", "b", "e", "a", "c"]);
  });

  it("adds up the engines of a run on both", () => {
    const times = new Map([
      ["a (model)", 5],
      ["a (qemu)", 40],
      ["b (model)", 30],
      ["b (qemu)", 30],
    ]);
    expect(slowestFirst([inst("a"), inst("b")], times, ["model", "qemu"]).map((i) => i.name)).toEqual(["b", "a"]);
  });

  it("keeps file order without times", () => {
    const list = [inst("b"), inst("a")];
    expect(slowestFirst(list, undefined, ["qemu"])).toEqual(list);
    expect(slowestFirst(list, new Map(), ["qemu"])).toEqual(list);
  });
});

describe("a run with the last run's times", () => {
  let p: Project;
  afterEach(() => p?.remove());

  async function startOrder(jobs: number): Promise<string[]> {
    p = await project(Object.fromEntries(["a", "b", "c", "d"].map((n) => [`tests/scenarios/${n}.scn`, nullScenario(n, `n${n}`)])));
    const started: string[] = [];
    const reporter: Reporter = { onScenarioStart: (id) => void started.push(id) };
    const previousTimes = new Map([
      ["a (model)", 1],
      ["b (model)", 2],
      ["c (model)", 3],
      ["d (model)", 4],
    ]);
    await runScenarios(modelRunOptions(p.dir, { jobs, previousTimes, modelWorkers: 0, update: true, reporters: [reporter] }));
    return started;
  }

  it("starts the slowest first in lanes", async () => {
    const order = await startOrder(2);
    // Two lanes: d and c are under way before b and a start.
    expect(new Set(order.slice(0, 2))).toEqual(new Set(["d (model)", "c (model)"]));
    expect(new Set(order.slice(2))).toEqual(new Set(["b (model)", "a (model)"]));
  });

  it("keeps file order in one lane, where order gains nothing", async () => {
    expect(await startOrder(1)).toEqual(["a (model)", "b (model)", "c (model)", "d (model)"]);
  });
});
