/** The arguments every job-starting command shares (blockdev.c). */
import type { JobFlags } from "./job.js";

/** `auto-finalize: false` → JOB_MANUAL_FINALIZE, `auto-dismiss: false` → JOB_MANUAL_DISMISS. */
export function jobFlags(args: Record<string, unknown>): JobFlags {
  return { autoFinalize: args["auto-finalize"] !== false, autoDismiss: args["auto-dismiss"] !== false };
}
