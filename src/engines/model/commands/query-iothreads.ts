/**
 * query-iothreads, which qemu-system has and qemu-storage-daemon does not (iothread.c,
 * qmp_query_iothreads): object_child_foreach walks /objects' property table forwards and
 * QAPI_LIST_APPEND keeps that order, so the iothreads come in the table's order.
 *
 * `thread-id` is the iothread's kernel thread id on QEMU, different in every run; the model has no
 * threads and gives each iothread its creation number instead. Transcripts show neither
 * (runner/steps/qmp.ts).
 */
import type { CommandHandler } from "./handler.js";
import { int64Out } from "./qom.js";

export const queryIothreads: CommandHandler = (state) =>
  state.qomObjects
    .keysInOrder()
    .filter((id) => state.aio.iothreads.has(id))
    .map((id) => {
      const ctx = state.aio.iothreads.get(id)!;
      const p = (k: string) => int64Out(ctx.params.get(k)!);
      return {
        id,
        "thread-id": ctx.threadId,
        "poll-max-ns": p("poll-max-ns"),
        "poll-grow": p("poll-grow"),
        "poll-shrink": p("poll-shrink"),
        "aio-max-batch": p("aio-max-batch"),
      };
    });
