/**
 * What every part of the scenario generator works with: the seeded choices, the believed graph, the
 * statements so far, and the model that each statement is tried on as it is written (gen-steer.ts).
 * A part builds its statement (noting the images and throttle groups it needs), then steers it: the
 * prerequisites go first, and the outcome says what the belief may learn from it.
 */
import type { Statement } from "../language/index.js";
import type { Prng } from "./prng.js";
import type { Steering, SteerOutcome } from "./gen-steer.js";
import { GenWorld, IMAGES, JOB_IMAGES, type GenNode } from "./gen-world.js";
import type { FuzzOption, FuzzStatement, FuzzValue } from "./scenario-ir.js";

export class GenContext {
  readonly world = new GenWorld();
  readonly statements: FuzzStatement[] = [];
  /** Each kept statement as the language parsed it, its location's `source` naming it uniquely. */
  readonly parsed: Statement[] = [];
  /** The node added last: the next add often builds on it, and a reopen often follows it. */
  focus: GenNode | undefined;
  /** Images and throttle groups the statement being built needs, written before it. */
  #pending: FuzzStatement[] = [];
  #runs = 0;

  constructor(
    readonly rng: Prng,
    private readonly steering: Steering,
    /** Whether this case may add quorum, blkverify, copy-before-write, blklogwrites and null-aio nodes. */
    readonly severalChildren = false,
    /** Whether this case has qemu-io steps. */
    readonly dataPath = false,
    /** Whether this case makes iothreads and moves nodes into them. */
    readonly contexts = false,
    /** Whether this case starts block jobs. */
    readonly jobs = false,
    /** Whether this case sends node commands: resizes, dirty bitmaps, write thresholds, snapshots. */
    readonly commands = false,
    /**
     * blkdebug's rules, drawn apart from the case's other choices so that a case without them is
     * the case it was before they were drawn.
     */
    readonly blkdebugRng: Prng = rng,
  ) {}

  /** Set while a job is held in a state it stays in: the steps then run around it start no other job. */
  jobHeld = false;

  /** Whether nothing more is written: the model stopped (a predicted crash) or refused a statement. */
  get ended(): boolean {
    return this.steering.ended || this.steering.refused;
  }

  /** Whether the model stopped: not even the closing `show` would run. */
  get modelStopped(): boolean {
    return this.steering.ended;
  }

  /** Put `require FEATURE` first, once. */
  require(feature: Extract<FuzzStatement, { kind: "require" }>["feature"]): void {
    if (this.statements.some((s) => s.kind === "require" && s.feature === feature)) return;
    const s: FuzzStatement = { kind: "require", feature };
    const parsed = this.steering.parse(s, `#${this.#runs++}`);
    if (!parsed) throw new Error(`'require ${feature}' does not parse`);
    // `require io` first, as it always was; others after the requires already there.
    const at = feature === "io" ? 0 : this.statements.findIndex((x) => x.kind !== "require");
    const i = at < 0 ? this.statements.length : at;
    this.statements.splice(i, 0, s);
    this.parsed.splice(i, 0, parsed);
  }

  /** Take back the statement kept last (a wait the model did not see end where it was meant to). */
  retract(): void {
    this.statements.pop();
    this.parsed.pop();
  }

  /** The length of named node `name` on the steering model. */
  nodeSize(name: string): Promise<number | undefined> {
    return this.steering.nodeSize(name);
  }

  /** A fresh qcow2 image of `bytes`, written before the statement. */
  sizedImage(path: string, bytes: number): string {
    this.world.images.add(path);
    this.#pending.push({ kind: "image", path, format: "qcow2", size: String(bytes) });
    return path;
  }

  /** Job `id`'s status on the steering model now. */
  jobStatus(id: string): Promise<string> {
    return this.steering.jobStatus(id);
  }

  /** Try `s` (after what it needs) on the model; keep it unless the runner could not carry it out. */
  async steer(s: FuzzStatement): Promise<SteerOutcome> {
    const pending = this.#pending;
    this.#pending = [];
    for (const p of pending) await this.#keep(p);
    return this.#keep(s);
  }

  async #keep(s: FuzzStatement): Promise<SteerOutcome> {
    const out = await this.steering.run(s, `#${this.#runs++}`);
    if (out.kind !== "dropped") {
      this.statements.push(s);
      this.parsed.push(out.parsed);
    }
    return out;
  }

  /** Keep `s` without running it (what ends the scenario: it changes nothing). */
  async append(s: FuzzStatement): Promise<void> {
    await this.#keep(s);
  }

  /** The image file, written before the statement if this scenario has not made it yet (its backing file first). */
  image(path: string): string {
    if (this.world.images.has(path)) return path;
    const spec = IMAGES[path] ?? JOB_IMAGES[path]!;
    if (spec.backing !== undefined) this.image(spec.backing);
    this.world.images.add(path);
    this.#pending.push({ kind: "image", path, format: spec.format, size: spec.size, ...(spec.backing !== undefined ? { backing: spec.backing } : {}) });
    return path;
  }

  /** A throttle group to use, made before the statement when there is none (or, rarely, one that does not exist). */
  throttleGroup(): string {
    const { rng, world } = this;
    if (rng.chance(0.04)) return "nosuch";
    if (world.groups.length === 0 || rng.chance(0.05)) {
      const id = world.fresh("tg");
      world.groups.push(id);
      this.#pending.push({ kind: "throttle-group", id });
      return id;
    }
    return rng.pick(world.groups);
  }
}

export const word = (text: string): FuzzValue => ({ kind: "word", text });
export const bool = (value: boolean): FuzzValue => ({ kind: "bool", value });
export const opt = (key: string, value: FuzzValue): FuzzOption => ({ key, value });
