/**
 * x-blockdev-amend (block/amend.c `qmp_x_blockdev_amend`): the node's driver must be the one named
 * and have a `bdrv_co_amend` (qcow2 and luks in QEMU 7.2), else the command fails at once; then a
 * job of type `amend` (auto-finalized, dismissed by hand, in the node's AioContext, holding a
 * reference to the node until it is freed) runs the driver's amend (drivers/qcow2.ts, luks.ts).
 */
import { findDriver } from "../drivers/index.js";
import { Errno } from "../data/io-error.js";
import type { BdsNode } from "../graph.js";
import { bdrvRef, bdrvUnref } from "../graph-ops.js";
import type { Coroutine } from "../jobs/coroutine.js";
import { checkNewJobId, Job, type JobDriver } from "../jobs/job.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { fail } from "../qmp-failure.js";
import type { CommandHandler } from "./handler.js";

class AmendJob extends Job {
  bs!: BdsNode;
  options!: Record<string, unknown>;
}

const amendJobDriver: JobDriver<AmendJob> = {
  jobType: "amend",
  // blockdev_amend_run.
  *run(job: AmendJob): Coroutine<number> {
    job.progressSetRemaining(1);
    let ret = 0;
    const err = job.bs.driver.amend!(job.bs, job.options);
    if (err !== null) {
      job.err = err;
      // What qcow2's and luks' refusals return.
      ret = -Errno.ENOTSUP;
    }
    job.progressUpdate(1);
    return ret;
  },
  free(job: AmendJob): void {
    bdrvUnref(job.state, job.bs);
  },
};

export const xBlockdevAmend: CommandHandler = (state, args) => {
  const options = args["options"] as Record<string, unknown>;
  const fmt = String(options["driver"]);
  const nodeName = String(args["node-name"]);
  const bs = state.nodes.get(nodeName) ?? fail(`Cannot find device='' nor node-name='${nodeName}'`);
  // bdrv_find_format knows every driver QEMU has, the model only its own.
  const drv = findDriver(fmt);
  if (!drv) throw new ModelUnsupportedError(`the driver '${fmt}'`);
  if (bs.ejected || bs.driver !== drv) fail("x-blockdev-amend doesn't support changing the block driver");
  if (!drv.amend) fail("Driver does not support x-blockdev-amend");
  const id = String(args["job-id"]);
  checkNewJobId(state, id);
  const job = new AmendJob(state, id, amendJobDriver as JobDriver<Job>, { autoFinalize: true, autoDismiss: false });
  job.aioContext = state.aio.of(bs);
  bdrvRef(bs);
  job.bs = bs;
  job.options = options;
  // blockdev_amend_pre_run; its failure would end the job early (job_early_fail).
  drv.amendPreRun?.(bs);
  job.start();
  return {};
};
