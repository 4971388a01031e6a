/** The arguments every job-starting command shares (blockdev.c). */
import type { JobFlags } from "./job.js";

/** `auto-finalize: false` → JOB_MANUAL_FINALIZE, `auto-dismiss: false` → JOB_MANUAL_DISMISS. */
export function jobFlags(args: Record<string, unknown>): JobFlags {
  const policy = (key: string) => (typeof args[key] === "string" ? (args[key] as string) : undefined);
  return {
    autoFinalize: args["auto-finalize"] !== false,
    autoDismiss: args["auto-dismiss"] !== false,
    // Stream and commit have one policy (`on-error`, for reads and writes alike), mirror two.
    onSourceError: policy("on-source-error") ?? policy("on-error"),
    onTargetError: policy("on-target-error") ?? policy("on-error"),
  };
}
