/** object-add / object-del, for the object types the block layer model needs: throttle-group, iothread and secret. */
import { addIothread, deleteIothread, objectIdTaken } from "../aio-context/iothread-objects.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import type { SecretProps } from "../objects/secret-objects.js";
import { idWellformed } from "../node-names.js";
import { fail } from "../qmp-failure.js";
import { setThrottleGroupProperties, throttleConfigInit, throttleIsValid } from "../throttle-config.js";
import type { LayerState } from "../layer-state.js";
import type { CommandHandler } from "./handler.js";

/**
 * user_creatable_add_type(): the id must be an identifier; the properties are set first (their
 * errors come first), then the object is added under its id (a duplicate fails), then completed
 * (throttle_group_obj_complete checks the whole config, iothread_complete the thread pool).
 */
export const objectAdd: CommandHandler = (state, args) => {
  const { "qom-type": type, id, ...props } = args;
  const name = String(id);
  if (type !== "throttle-group" && type !== "iothread" && type !== "secret") throw new ModelUnsupportedError(`the object type '${String(type)}'`);
  if (!idWellformed(name)) fail("Parameter 'id' expects an identifier");
  if (type === "secret") {
    if (objectIdTaken(state, name)) fail(`attempt to add duplicate property '${name}' to object (type 'container')`);
    // qcrypto_secret_complete; a secret that fails to complete is unparented again.
    completeChild(state, name, () => state.secrets.complete(name, props as SecretProps, (id) => objectIdTaken(state, id)));
    return {};
  }
  if (type === "iothread") {
    addIothread(state, name, props);
    return {};
  }
  const cfg = throttleConfigInit();
  setThrottleGroupProperties(cfg, props);
  if (objectIdTaken(state, name)) fail(`attempt to add duplicate property '${name}' to object (type 'container')`);
  completeChild(state, name, () => throttleIsValid(cfg));
  state.throttleGroups.add(name, cfg);
  return {};
};

/** The object is a child of /objects while `complete` runs, and is unparented if it fails. */
function completeChild(state: LayerState, id: string, complete: () => void): void {
  state.qomObjects.insert(id);
  try {
    complete();
  } catch (e) {
    state.qomObjects.remove(id);
    throw e;
  }
}

export const objectDel: CommandHandler = (state, args) => {
  const id = String(args["id"]);
  // Nothing holds a secret: drivers copy what they need from it at open.
  if (state.secrets.has(id)) {
    state.secrets.delete(id);
    state.qomObjects.remove(id);
    return {};
  }
  if (state.aio.iothreads.has(id)) {
    deleteIothread(state, id);
    return {};
  }
  if (!state.throttleGroups.has(id)) fail(`object '${id}' not found`);
  // user_creatable_del → throttle_group_can_be_deleted: a throttle node still holds a reference.
  if (state.throttleGroups.inUse(id)) fail(`object '${id}' is in use, can not be deleted`);
  state.throttleGroups.delete(id);
  state.qomObjects.remove(id);
  return {};
};
