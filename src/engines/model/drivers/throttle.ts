/** `throttle`: a filter bound to a throttle group (object-add throttle-group). */
import { fail } from "../qmp-failure.js";
import type { DriverDef } from "./driver.js";
import { FILTER_DEFAULTS, openFilteredFile } from "./filter.js";

function checkGroup(group: unknown, exists: (id: string) => boolean): void {
  if (typeof group !== "string" || !exists(group)) fail(`Throttle group '${String(group)}' does not exist`);
}

export const throttleDriver: DriverDef = {
  ...FILTER_DEFAULTS,
  name: "throttle",
  supportsReopen: true,
  strongOpts: ["throttle-group"],
  reopenOpts: ["throttle-group"],

  open(ctx) {
    openFilteredFile(ctx);
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
