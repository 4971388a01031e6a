/**
 * x-blockdev-amend (block/amend.c `qmp_x_blockdev_amend`): the node's driver must be the one named
 * and have a `bdrv_co_amend` (qcow2 and luks in QEMU 7.2), else the command fails at once; then a
 * job of type `amend` (auto-finalized, dismissed by hand, in the node's AioContext, holding a
 * reference to the node until it is freed) runs the driver's amend. qcow2's changes only encryption
 * options, and the model's qcow2 images are never encrypted: asked to, the job fails.
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

/** QEMU 7.2's drivers with a `bdrv_co_amend`. */
const HAS_CO_AMEND: ReadonlySet<string> = new Set(["qcow2", "luks"]);

class AmendJob extends Job {
  bs!: BdsNode;
  encrypt = false;
}

const amendJobDriver: JobDriver<AmendJob> = {
  jobType: "amend",
  // blockdev_amend_run with qcow2_co_amend.
  *run(job: AmendJob): Coroutine<number> {
    job.progressSetRemaining(1);
    let ret = 0;
    if (job.encrypt) {
      job.err = "image is not encrypted, can't amend";
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
  if (!findDriver(fmt)) throw new ModelUnsupportedError(`the driver '${fmt}'`);
  if (bs.ejected || bs.driver.name !== fmt) fail("x-blockdev-amend doesn't support changing the block driver");
  if (!HAS_CO_AMEND.has(fmt)) fail("Driver does not support x-blockdev-amend");
  if (fmt === "luks") throw new ModelUnsupportedError("x-blockdev-amend of a luks node (its keyslots)");
  const id = String(args["job-id"]);
  checkNewJobId(state, id);
  const job = new AmendJob(state, id, amendJobDriver as JobDriver<Job>, { autoFinalize: true, autoDismiss: false });
  job.aioContext = state.aio.of(bs);
  bdrvRef(bs);
  job.bs = bs;
  job.encrypt = options["encrypt"] !== undefined;
  job.start();
  return {};
};
