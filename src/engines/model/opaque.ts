/**
 * `bs->opaque` and `reopen_state->opaque`: a driver's private state. A driver reaches its own state
 * through its own OpaqueSlot, typed for that driver alone; nothing else can read it, and a slot asked
 * for state another driver stored is a model bug, reported as one.
 */
import { BlockcheckError } from "../../errors.js";

/** The stored state and the slot that stored it. */
export interface OpaqueBox {
  readonly slot: object;
  readonly value: unknown;
}

/** Something carrying a driver's opaque state (a node, a reopen state). */
export interface HasOpaque {
  opaque: OpaqueBox | null;
}

/** A driver read state it does not own, or state that was never stored. */
export class OpaqueStateError extends BlockcheckError {
  constructor(owner: string) {
    super("E_MODEL_OPAQUE", `model bug: no ${owner} driver state here`);
  }
}

export class OpaqueSlot<T> {
  constructor(
    /** The driver this slot belongs to (for the bug report). */
    readonly owner: string,
  ) {}

  /** Store `value` as the holder's opaque state. */
  set(holder: HasOpaque, value: T): void {
    holder.opaque = { slot: this, value };
  }

  /** The state this slot stored, or undefined (an open that failed before storing it). */
  find(holder: HasOpaque): T | undefined {
    const box = holder.opaque;
    return box !== null && box.slot === this ? (box.value as T) : undefined;
  }

  /** The state this slot stored; throws OpaqueStateError when there is none. */
  get(holder: HasOpaque): T {
    const box = holder.opaque;
    if (box === null || box.slot !== this) throw new OpaqueStateError(this.owner);
    return box.value as T;
  }
}
