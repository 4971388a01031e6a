/** object-add / object-del, for the only object type the block layer model needs: throttle-group. */
import { fail } from "../qmp-failure.js";
import type { CommandHandler } from "./handler.js";

export const objectAdd: CommandHandler = (state, args) => {
  const type = String(args["qom-type"]);
  const id = String(args["id"]);
  if (type !== "throttle-group") fail(`The model does not implement object type '${type}'`);
  if (state.throttleGroups.has(id)) fail(`attempt to add duplicate property '${id}' to object (type 'container')`);
  state.throttleGroups.add(id);
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
