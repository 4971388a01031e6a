/** `throttle`: a filter bound to a throttle group (object-add throttle-group), which it references while open. */
import { childNamed } from "../graph.js";
import { OpaqueSlot } from "../opaque.js";
import { QemuAbort } from "../qemu-would-crash.js";
import { fail } from "../qmp-failure.js";
import type { DriverDef, DriverHost } from "./driver.js";
import { FILTER_DEFAULTS, FILTER_IO, filteredSupportsZeroUnmap, openFilteredFile, passCompressed } from "./filter.js";

/** The group the node is registered with (ThrottleGroupMember), or the one a reopen staged. */
interface ThrottleState {
  group: string;
}

const slot = new OpaqueSlot<ThrottleState>("throttle");
const reopenSlot = new OpaqueSlot<ThrottleState>("throttle");

/** `throttle_parse_options`: a group must be named, and exist. */
function parseGroup(group: unknown, host: DriverHost): string {
  if (group === undefined) fail("Please specify a throttle group");
  if (typeof group !== "string" || !host.throttleGroups.has(group)) fail(`Throttle group '${String(group)}' does not exist`);
  return group;
}

export const throttleDriver: DriverDef = {
  ...FILTER_DEFAULTS,
  // throttle_co_*: requests wait for the group's limits, then go on unchanged; the model does not
  // make them wait (its I/O takes no time).
  ...FILTER_IO,
  supportsZeroUnmap: filteredSupportsZeroUnmap,
  pwritevCompressed: passCompressed,
  name: "throttle",
  fua: { write: "file", zero: "file" },
  // throttle_co_drain_begin / throttle_co_drain_end: limits are lifted while drained.
  coDrainBegin: true,
  coDrainEnd: true,

  /** `.bdrv_co_flush`: the file, whatever this node may do with it. */
  flushVia(node) {
    const file = childNamed(node, "file");
    return file ? [file.bs] : [];
  },
  canCompress: true,
  strongOpts: ["throttle-group"],

  open(ctx) {
    openFilteredFile(ctx);
    const group = parseGroup(ctx.options["throttle-group"], ctx.host);
    // throttle_group_register_tgm.
    ctx.host.throttleGroups.ref(group);
    slot.set(ctx.node, { group });
  },

  /** `throttle_close` → `throttle_group_unregister_tgm`. */
  close(node, host) {
    host.throttleGroups.unref(slot.get(node).group);
  },

  /**
   * `throttle_attach_aio_context` → throttle_group_attach_aio_context on the node's group member.
   * Moved while it opens (its file child draws it into that child's iothread, before
   * throttle_configure_tgm registered it), the member has no throttle state yet and QEMU 7.2
   * dereferences NULL.
   */
  attachAioContext(node) {
    if (node.opaque?.slot !== slot) throw new QemuAbort("SIGSEGV", "throttle_group_attach_aio_context: the throttle node is moved to another AioContext before it joined its group");
  },

  /** `throttle_reopen_prepare`: parse (and take) the group option; the switch waits for commit. */
  reopenPrepare(rs, host) {
    reopenSlot.set(rs, { group: parseGroup(rs.options["throttle-group"], host) });
    delete rs.options["throttle-group"];
  },

  /** `throttle_reopen_commit`: leave the old group, join the new one. */
  reopenCommit(rs, host) {
    const st = slot.get(rs.bs);
    const group = reopenSlot.get(rs).group;
    host.throttleGroups.unref(st.group);
    host.throttleGroups.ref(group);
    st.group = group;
  },
};
