/**
 * blockdev-create (block/create.c `qmp_blockdev_create`): the driver must exist and have a
 * `bdrv_co_create`, else the command fails at once; then a job of type `create` (auto-finalized,
 * dismissed by hand) runs the driver's create in its coroutine (`blockdev_create_run`), one unit
 * of progress, and a failure of the driver's is the job's error (query-jobs `error`), not the
 * command's.
 */
import type { CommandHandler } from "../commands/handler.js";
import { findDriver } from "../drivers/index.js";
import { Errno } from "../data/io-error.js";
import { QmpFailure } from "../qmp-failure.js";
import { fail } from "../qmp-failure.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import type { LayerState } from "../layer-state.js";
import type { Coroutine } from "../jobs/coroutine.js";
import { checkNewJobId, Job, type JobDriver } from "../jobs/job.js";
import { unlockNotOwned } from "../aio-context/main-thread-wait.js";
import { CreateFailure } from "./create-failure.js";
import { CreateAbortsAfterFirstRequest, CreateInIothread, withInlineRefs } from "./create-on-node.js";
import { fileCreate } from "./file-create.js";
import { qcow2Create } from "./qcow2-create.js";
import { parallelsCreate } from "./parallels-create.js";
import { qcowCreate, qedCreate } from "./qcow-qed-create.js";
import { vdiCreate } from "./vdi-create.js";
import { vhdxCreate } from "./vhdx-create.js";
import { vpcCreate } from "./vpc-create.js";

type DriverCreate = (state: LayerState, opts: Record<string, unknown>) => void;

/** The drivers whose `bdrv_co_create` the model runs. */
const MODEL_CREATES: Readonly<Record<string, DriverCreate>> = { file: fileCreate, parallels: parallelsCreate, qcow: qcowCreate, qcow2: qcow2Create, qed: qedCreate, vdi: vdiCreate, vhdx: vhdxCreate, vpc: vpcCreate };

/** QEMU 7.2's drivers with a `bdrv_co_create` (the branches of BlockdevCreateOptions). */
const HAS_CO_CREATE: ReadonlySet<string> = new Set(["file", "gluster", "luks", "nfs", "parallels", "qcow", "qcow2", "qed", "rbd", "ssh", "vdi", "vhdx", "vmdk", "vpc"]);

class CreateJob extends Job {
  create!: DriverCreate;
  opts!: Record<string, unknown>;
}

const createJobDriver: JobDriver<CreateJob> = {
  jobType: "create",
  *run(job: CreateJob): Coroutine<number> {
    job.progressSetRemaining(1);
    let ret = 0;
    try {
      withInlineRefs(job.state, () => job.create(job.state, job.opts));
    } catch (e) {
      if (e instanceof CreateInIothread || e instanceof CreateAbortsAfterFirstRequest) {
        const abort = e instanceof CreateInIothread ? unlockNotOwned() : e.abort;
        job.state.loop.scheduleBh(() => {
          throw abort;
        });
        // The job never gets further.
        for (;;) yield;
      }
      if (e instanceof CreateFailure) {
        job.err = e.message;
        ret = -e.errno;
      } else if (e instanceof QmpFailure) {
        job.err = e.body.desc;
        ret = -(e.errno ?? Errno.EIO);
      } else throw e;
    }
    job.progressUpdate(1);
    return ret;
  },
};

export const blockdevCreate: CommandHandler = (state, args) => {
  const options = args["options"] as Record<string, unknown>;
  const fmt = String(options["driver"]);
  if (!findDriver(fmt) && !HAS_CO_CREATE.has(fmt)) throw new ModelUnsupportedError(`the driver '${fmt}'`);
  if (!HAS_CO_CREATE.has(fmt)) fail("Driver does not support blockdev-create");
  const create = MODEL_CREATES[fmt];
  if (!create) throw new ModelUnsupportedError(`blockdev-create of ${fmt}`);
  const id = String(args["job-id"]);
  checkNewJobId(state, id);
  const job = new CreateJob(state, id, createJobDriver as JobDriver<Job>, { autoFinalize: true, autoDismiss: false });
  job.create = create;
  job.opts = options;
  job.start();
  return {};
};
