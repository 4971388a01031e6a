/** `throttle`: a filter bound to a throttle group (object-add throttle-group). */
import { fail } from "../qmp-failure.js";
import { ROLE_FILTERED, ROLE_PRIMARY } from "../roles.js";
import type { DriverDef } from "./driver.js";

function checkGroup(group: unknown, exists: (id: string) => boolean): void {
  if (typeof group !== "string" || !exists(group)) fail(`Throttle group '${String(group)}' does not exist`);
}

export const throttleDriver: DriverDef = {
  name: "throttle",
  protocol: false,
  isFilter: true,
  isFormat: false,
  supportsBacking: false,
  supportsReopen: true,
  mutableOpts: [],
  strongOpts: ["throttle-group"],
  reopenOpts: ["throttle-group"],

  open(ctx) {
    const file = ctx.openChild("file", ROLE_FILTERED | ROLE_PRIMARY, false)!;
    ctx.node.size = file.bs.size;
    checkGroup(ctx.options["throttle-group"], (id) => ctx.hasThrottleGroup(id));
    ctx.node.state = { group: ctx.options["throttle-group"] };
  },

  reopenPrepare(node, options, ctx) {
    const group = options["throttle-group"];
    checkGroup(group, (id) => ctx.hasThrottleGroup(id));
    return () => {
      node.state = { group };
    };
  },
};
