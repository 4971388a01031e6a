/**
 * "backing is missing for 'b'": blockdev-reopen refuses to leave out `backing` for a node that has
 * a backing child, or whose image header names a backing file, because leaving it out would reset
 * it. A node whose backing came from its image header was added without `backing`, so a reopen that
 * builds on its add-time options (any form) leaves it out. A failing reopen gets a note saying what
 * to write.
 */
import type { StepContext } from "../context.js";
import { graphState } from "../graph-state.js";

const BACKING_MISSING = /^backing is missing for '(.+)'$/;

/** The note for a reopen's (normalized) error message, or undefined when it is another error. */
export async function backingMissingNote(ctx: StepContext, desc: string): Promise<string | undefined> {
  const m = BACKING_MISSING.exec(desc);
  if (!m) return undefined;
  const label = m[1]!;
  const state = await graphState(ctx);
  const id = [...state.labels].find(([, l]) => l === label)?.[0];
  const edge = state.graph.edges.find((e) => e.parent === id && e.name === "backing");
  if (!edge) {
    return `note: '${label}' has no backing child, but its image names a backing file: write backing=null to leave it without one`;
  }
  const child = state.labels.get(edge.child)!;
  return `note: a reopen of '${label}' must name its backing child: backing=${child} keeps it, backing=null detaches it`;
}
