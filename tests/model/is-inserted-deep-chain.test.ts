/**
 * bdrv_is_inserted asks every node below: a backing chain deeper than the call stack (the bench's
 * 10,000 qcow2 nodes) overflowed it, and `npm run bench -- model` died of a RangeError.
 */
import { expect, it } from "vitest";
import { isInserted } from "../../src/engines/model/data/block-io.js";
import type { BdsNode } from "../../src/engines/model/graph.js";

/** A chain of `depth` nodes, the last one ejected or not; only what isInserted reads. */
function chain(depth: number, bottomEjected: boolean): BdsNode {
  let below: BdsNode | undefined;
  for (let i = 0; i < depth; i++) {
    const node = { ejected: i === 0 && bottomEjected, children: below ? [{ bs: below }] : [] } as unknown as BdsNode;
    below = node;
  }
  return below!;
}

it("walks a chain of 100,000 nodes without overflowing the stack", () => {
  expect(isInserted(chain(100_000, false))).toBe(true);
  expect(isInserted(chain(100_000, true))).toBe(false);
});
