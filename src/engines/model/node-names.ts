/** `bdrv_assign_node_name`: validation order and messages of QEMU 7.2. */
import type { LayerState } from "./layer-state.js";
import { fail } from "./qmp-failure.js";

/** `id_wellformed` (util/id.c): a letter, then letters, digits, '-', '.', '_'. */
export function idWellformed(id: string): boolean {
  return /^[A-Za-z][A-Za-z0-9._-]*$/.test(id);
}

/** Check a requested node name, or generate an auto name; returns the name to use. */
export function assignNodeName(state: LayerState, requested: string | undefined): string {
  let name: string;
  if (requested === undefined) {
    name = state.autoNames.next();
  } else {
    if (!idWellformed(requested)) fail(`Invalid node-name: '${requested}'`);
    name = requested;
  }
  if (state.nodes.has(name)) fail(`Duplicate nodes with node-name='${name}'`);
  if (name.length >= 32) fail("Node name too long");
  return name;
}
