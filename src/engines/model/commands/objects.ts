/** object-add / object-del, for the only object type the block layer model needs: throttle-group. */
import { fail } from "../qmp-failure.js";
import { setThrottleGroupProperties, throttleConfigInit, throttleIsValid } from "../throttle-config.js";
import type { CommandHandler } from "./handler.js";

/**
 * user_creatable_add_type(): the properties are set first (their errors come first), then the object
 * is added under its id (a duplicate fails), then completed (throttle_group_obj_complete checks the
 * whole config).
 */
export const objectAdd: CommandHandler = (state, args) => {
  const { "qom-type": type, id, ...props } = args;
  if (type !== "throttle-group") fail(`The model does not implement object type '${String(type)}'`);
  const cfg = throttleConfigInit();
  setThrottleGroupProperties(cfg, props);
  if (state.throttleGroups.has(String(id))) fail(`attempt to add duplicate property '${String(id)}' to object (type 'container')`);
  throttleIsValid(cfg);
  state.throttleGroups.add(String(id));
  return {};
};

export const objectDel: CommandHandler = (state, args) => {
  const id = String(args["id"]);
  if (!state.throttleGroups.has(id)) fail(`object '${id}' not found`);
  // user_creatable_del → throttle_group_can_be_deleted: a throttle node still holds a reference.
  if (state.throttleGroups.inUse(id)) fail(`object '${id}' is in use, can not be deleted`);
  state.throttleGroups.delete(id);
  return {};
};
