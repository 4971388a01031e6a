/**
 * The seeded scenario generator: a case seed gives one scenario, always the same. Each statement is
 * chosen from the seed and the believed graph, then tried on the model (gen-steer.ts), whose outcome
 * the belief follows. docs/fuzz.md gives the distribution.
 */
import type { Engine } from "../engines/engine.js";
import { validateScenario } from "../language/index.js";
import type { FuzzScratch } from "./fuzz-scratch.js";
import { newNode } from "./gen-add.js";
import { GenContext } from "./gen-context.js";
import { believeDel, delStatement, exportStatement, rootOf, showStatement, unexportStatement } from "./gen-misc.js";
import { commandStep, commandWeights } from "./gen-commands.js";
import { ioStep } from "./gen-io.js";
import { exportContext, iothreadStep, iothreadWeights } from "./gen-iothreads.js";
import { jobStep, jobWeights } from "./gen-jobs.js";
import { believeReopen, reopenOf, reopenStatement } from "./gen-reopen.js";
import { Steering } from "./gen-steer.js";
import { Prng } from "./prng.js";
import type { FuzzNode, FuzzScenario, FuzzStatement } from "./scenario-ir.js";

/** Statements per case (before the images and groups they need, and the closing `show`). */
const CASE_LENGTH = { min: 4, max: 16 } as const;
/** After a reopen, how often the root it touched is deleted next. */
const DEL_AFTER_REOPEN = 0.35;
/** After an add, how often the new node is reopened next. */
const REOPEN_AFTER_ADD = 0.25;

type Reopen = Extract<FuzzStatement, { kind: "reopen" }>;

/** An `add`, or a `graph { … }` of two or three nodes; the belief keeps the nodes the model added. */
async function addNodes(ctx: GenContext, block: boolean): Promise<void> {
  const { world } = ctx;
  const restore = world.snapshot();
  const nodes: FuzzNode[] = [];
  for (let i = block ? ctx.rng.int(2, 3) : 1; i > 0; i--) {
    const node = newNode(ctx);
    // Later nodes of a block may build on earlier ones, so the belief has them while building.
    world.add(node);
    nodes.push(node);
  }
  const out = await ctx.steer(block ? { kind: "graph", nodes } : { kind: "add", node: nodes[0]! });
  restore();
  if (out.kind !== "ran") return;
  nodes.forEach((n, i) => {
    if (!out.failed.includes(i)) ctx.focus = world.add(n);
  });
}

/** Steer a reopen and follow it; now and then the root it touched is deleted right after. */
async function steerReopen(ctx: GenContext, s: Reopen): Promise<void> {
  const root = rootOf(ctx, s.entries[0]!.node);
  const out = await ctx.steer(s);
  if (out.kind !== "ran") return;
  believeReopen(ctx, s, out.failed.length === 0);
  if (root && !root.dead && !root.retired && ctx.rng.chance(DEL_AFTER_REOPEN)) await steerDel(ctx, { kind: "del", node: root.name! });
}

async function steerDel(ctx: GenContext, s: Extract<FuzzStatement, { kind: "del" }>): Promise<void> {
  const out = await ctx.steer(s);
  if (out.kind === "ran") believeDel(ctx, s, out.failed.length === 0);
}

/** One statement (with what it needs first, and sometimes a follow-up). */
async function step(ctx: GenContext): Promise<void> {
  const { rng, world } = ctx;
  const nodes = world.referable().length;
  const kind = rng.weighted({
    add: nodes < 2 ? 10 : 4,
    graph: 1,
    reopen: nodes > 0 ? 6 : 0,
    del: world.owned().length > 0 ? 2 : 0,
    export: nodes > 0 ? (ctx.contexts ? 2 : 1) : 0,
    unexport: world.exports.length > 0 ? 0.8 : 0,
    show: nodes > 0 ? 0.5 : 0,
    io: ctx.dataPath && nodes > 0 ? 5 : 0,
    ...iothreadWeights(ctx),
    ...(nodes > 0 ? jobWeights(ctx) : { job: 0 }),
    ...commandWeights(ctx),
  });
  switch (kind) {
    case "add":
    case "graph": {
      const before = ctx.focus;
      await addNodes(ctx, kind === "graph");
      const added = ctx.focus;
      if (added && added !== before && added.children.size > 0 && rng.chance(REOPEN_AFTER_ADD)) {
        const s = reopenOf(ctx, added);
        if (s.kind === "reopen") await steerReopen(ctx, s);
      }
      return;
    }
    case "reopen": {
      const s = reopenStatement(ctx);
      if (s?.kind === "reopen") await steerReopen(ctx, s);
      return;
    }
    case "del": {
      const s = delStatement(ctx);
      if (s?.kind === "del") await steerDel(ctx, s);
      return;
    }
    case "export": {
      const plain = exportStatement(ctx);
      if (plain?.kind !== "export") return;
      const s = { ...plain, ...exportContext(ctx) };
      const out = await ctx.steer(s);
      if (out.kind === "ran" && out.failed.length === 0) world.exports.push({ id: s.id, node: s.node });
      return;
    }
    case "unexport": {
      const s = unexportStatement(ctx);
      if (s) await ctx.steer(s);
      return;
    }
    case "show":
      await ctx.steer(showStatement(ctx));
      return;
    case "io":
      await ioStep(ctx);
      return;
    case "iothread":
    case "set-iothread":
    case "iothread-del":
      await iothreadStep(ctx, kind);
      return;
    case "job":
      await jobStep(ctx, step);
      return;
    case "command":
      await commandStep(ctx);
      return;
  }
}

/**
 * The statements, less those the scenario checker would reject. The generator's belief follows the
 * model; the checker assumes every statement without an expectation succeeds (a reopen that failed
 * still freed the inline child it replaced, for the checker). Where the two part, the statement is
 * left out; leaving one out can only make fewer names unknown, except for the statements that used
 * a name it added, which the next round leaves out too.
 */
function checkerClean(ctx: GenContext): FuzzStatement[] {
  let statements = ctx.statements;
  let parsed = ctx.parsed;
  for (;;) {
    const diagnostics = validateScenario({ type: "scenario", file: "fuzz.scn", statements: parsed });
    if (diagnostics.length === 0) return statements;
    const bad = new Set(diagnostics.map((d) => d.location.source));
    const keep = parsed.map((p) => !bad.has(p.location.source));
    // Nothing to leave out: a problem of the whole, which loading the case reports in full.
    if (keep.every(Boolean)) return statements;
    statements = statements.filter((_, i) => keep[i]);
    parsed = parsed.filter((_, i) => keep[i]);
  }
}

/** The share of cases that may add nodes with several children (quorum, blkverify, …) and null-aio. */
const SEVERAL_CHILDREN_SHARE = 0.35;
const SEVERAL_CHILDREN_SALT = 0x5eed_c41d;
/** The share of cases with qemu-io steps, drawn the same way. */
const DATA_PATH_SHARE = 0.4;
const DATA_PATH_SALT = 0x10da_7a5e;
/** The share of cases with iothreads, drawn the same way. */
const CONTEXTS_SHARE = 0.3;
const CONTEXTS_SALT = 0x10_7e4d;
/** The share of cases with block jobs, drawn the same way. */
const JOBS_SHARE = 0.35;
// This salt and COMMANDS_SALT are chosen so that the cases quoted in docs/fuzz.md and tests/fuzz (seed 88 and 13, case 0; 0xc130f850) have no jobs and no node commands.
const JOBS_SALT = 0x10b5_0b5f;
/** The share of cases with node commands (gen-commands.ts), drawn the same way. */
const COMMANDS_SHARE = 0.3;
const COMMANDS_SALT = 0xc0_3a4e;
/** Of the cases with qemu-io steps and no jobs, the share that end with query-blockstats of every node. */
const NODE_STATS_SHARE = 0.5;
const NODE_STATS_SALT = 0x57a7_0de5;
const BLKDEBUG_RULES_SALT = 0xb1_dbe6;

export interface GenerateOptions {
  /** A fresh, unstarted model engine for steering. */
  makeModel: () => Engine;
  /** A scratch directory of its own for the steering model's images (created if missing). */
  dir: string;
}

/** The scenario of one case seed. */
export async function generateScenario(seed: number, opts: GenerateOptions): Promise<FuzzScenario> {
  const steering = await Steering.start(opts.makeModel, opts.dir, `the fuzzer's generator, case seed ${seed}`);
  try {
    // Drawn apart from the case's own choices, so a case without them is the case it was before
    // these drivers were added (seeds in docs and tests keep finding what they found).
    const severalChildren = new Prng(seed ^ SEVERAL_CHILDREN_SALT).chance(SEVERAL_CHILDREN_SHARE);
    const dataPath = new Prng(seed ^ DATA_PATH_SALT).chance(DATA_PATH_SHARE);
    const contexts = new Prng(seed ^ CONTEXTS_SALT).chance(CONTEXTS_SHARE);
    const jobs = new Prng(seed ^ JOBS_SALT).chance(JOBS_SHARE);
    const commands = new Prng(seed ^ COMMANDS_SALT).chance(COMMANDS_SHARE);
    const ctx = new GenContext(new Prng(seed), steering, severalChildren, dataPath, contexts, jobs, commands, new Prng(seed ^ BLKDEBUG_RULES_SALT));
    for (let i = ctx.rng.int(CASE_LENGTH.min, CASE_LENGTH.max); i > 0 && !ctx.ended; i--) await step(ctx);
    if (!ctx.modelStopped) {
      await ctx.append({ kind: "show", what: "graph" });
      if (ctx.rng.chance(0.3)) await ctx.append({ kind: "show", what: "nodes" });
      // What the writes left in each node's statistics; a job still moving would make it a race.
      if (dataPath && !jobs && new Prng(seed ^ NODE_STATS_SALT).chance(NODE_STATS_SHARE)) {
        await ctx.append({ kind: "qmp", command: "query-blockstats", args: { "query-nodes": true } });
      }
    }
    return { seed, statements: checkerClean(ctx) };
  } finally {
    await steering.stop();
  }
}

/** The scenario of one case seed, steered in a directory borrowed from `scratch`. */
export async function generateIn(scratch: FuzzScratch, seed: number, makeModel: () => Engine): Promise<FuzzScenario> {
  const dir = scratch.make();
  try {
    return await generateScenario(seed, { makeModel, dir: dir.dir });
  } finally {
    scratch.drop(dir);
  }
}
