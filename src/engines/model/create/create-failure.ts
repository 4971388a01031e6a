/**
 * How a driver's `bdrv_co_create` fails inside a blockdev-create job: it sets an error and returns
 * -errno; the job ends with both (the message is query-jobs' `error`).
 */
export class CreateFailure extends Error {
  constructor(
    message: string,
    readonly errno: number,
  ) {
    super(message);
  }
}

export function createFail(message: string, errno: number): never {
  throw new CreateFailure(message, errno);
}
