/**
 * QEMU runs a job in a coroutine that yields at its pause and sleep points; the model runs it as a
 * generator. `yield` is `qemu_coroutine_yield`, `yield*` calls another coroutine_fn, and entering
 * the coroutine (`qemu_aio_coroutine_enter`) is `next()`: it runs until the coroutine yields again.
 * What woke it, and when, is kept in the job (busy flag, sleep timer), as in job.c.
 */

/** A coroutine_fn returning T. */
export type Coroutine<T = void> = Generator<void, T, void>;
