/**
 * The throttle-group objects (object-add qom-type=throttle-group) with their QOM reference counts:
 * a throttle node holds a reference to its group from open to close (`throttle_group_register_tgm`
 * / `throttle_group_unregister_tgm`), and object-del refuses a group something still references
 * (`throttle_group_can_be_deleted`).
 */
import { BlockcheckError } from "../../errors.js";
import type { ThrottleConfig } from "./throttle-config.js";

/** A reference dropped that was never taken: a model bug. */
export class ThrottleGroupRefError extends BlockcheckError {
  constructor(id: string) {
    super("E_MODEL_THROTTLE_REF", `model bug: throttle group '${id}' unreferenced more often than referenced`);
  }
}

export class ThrottleGroups {
  /** Group id → references held by throttle nodes, in creation order. */
  private readonly refs = new Map<string, number>();
  /** Group id → its limits (ThrottleState.cfg), which qom-get and qom-set of `limits` read and change. */
  private readonly configs = new Map<string, ThrottleConfig>();

  /** Whether a group with this id exists. */
  has(id: string): boolean {
    return this.refs.has(id);
  }

  /** Create a group with its completed config (the caller has checked the id is free). */
  add(id: string, cfg: ThrottleConfig): void {
    this.refs.set(id, 0);
    this.configs.set(id, cfg);
  }

  /** Remove a group (the caller has checked it exists and is not in use). */
  delete(id: string): void {
    this.refs.delete(id);
    this.configs.delete(id);
  }

  /** The limits of a group that exists. */
  config(id: string): ThrottleConfig {
    return this.configs.get(id)!;
  }

  /** Whether some node still references the group. */
  inUse(id: string): boolean {
    return (this.refs.get(id) ?? 0) > 0;
  }

  /** A node starts using the group (which exists). */
  ref(id: string): void {
    this.refs.set(id, (this.refs.get(id) ?? 0) + 1);
  }

  /** A node stops using the group. */
  unref(id: string): void {
    const n = this.refs.get(id) ?? 0;
    if (n <= 0) throw new ThrottleGroupRefError(id);
    this.refs.set(id, n - 1);
  }
}
