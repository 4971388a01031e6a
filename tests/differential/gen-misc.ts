/**
 * The generator's other commands: blockdev-del, throttle groups, the NBD server and exports, and the
 * graph queries that make every intermediate state part of the comparison.
 */
import { anyNodeRef, nodeRef } from "./gen-add.js";
import type { GenState, LiveView } from "./gen-state.js";
import type { Prng } from "../../src/fuzz/prng.js";
import { qmp, type Json, type QmpStep } from "./steps.js";

/** Delete an owned node mostly; sometimes an inline/implicit one or one that does not exist. */
export function delStep(rng: Prng, state: GenState, view: LiveView): QmpStep {
  const owned = view.graph.referableNames().filter((n) => state.owned.has(n));
  const r = rng.next();
  let target: Json = "nosuch";
  if (r < 0.65 && owned.length > 0) target = rng.pick(owned);
  else if (r < 0.93) target = anyNodeRef(rng, view) ?? "nosuch";
  return qmp("blockdev-del", { "node-name": target });
}

export function throttleGroupStep(rng: Prng, state: GenState): QmpStep {
  const groups = [...state.throttleGroups];
  const id = groups.length > 0 && rng.chance(0.1) ? rng.pick(groups) : state.freshName("tg");
  return qmp("object-add", { "qom-type": "throttle-group", id, limits: { "iops-total": 1000 } });
}

export function serverStep(): QmpStep {
  return qmp("nbd-server-start", { addr: { type: "unix", data: { path: "$TEST_DIR/nbd.sock" } } });
}

export function exportAddStep(rng: Prng, state: GenState, view: LiveView): QmpStep | undefined {
  const names = view.graph.referableNames();
  if (names.length === 0) return undefined;
  const ids = [...state.exports.keys()];
  const r = rng.next();
  const id = r < 0.08 && ids.length > 0 ? rng.pick(ids) : r < 0.1 ? "bad id" : state.freshName("e");
  const target: Json = rng.chance(0.04) ? "nosuch" : nodeRef(view, rng.pick(names));
  return qmp("block-export-add", { type: "nbd", id, "node-name": target, writable: rng.chance(0.5) });
}

export function exportDelStep(rng: Prng, state: GenState): QmpStep {
  const ids = [...state.exports.keys()];
  return qmp("block-export-del", { id: ids.length > 0 && rng.chance(0.85) ? rng.pick(ids) : "nosuch" });
}

export function queryStep(rng: Prng): QmpStep {
  return rng.chance(0.7) ? qmp("x-debug-query-block-graph") : qmp("query-named-block-nodes", { flat: true });
}
