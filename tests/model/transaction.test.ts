/** The model's Transaction follows util/transactions.c: newest-first commit and abort, clean after either. */
import { describe, expect, it } from "vitest";
import { runInTransaction, Transaction, TransactionFinishedError } from "../../src/engines/model/transaction.js";

/** Three actions that log what runs, in the order tran_add would record them. */
function threeActions(log: string[]): Transaction {
  const tran = new Transaction();
  for (const name of ["a", "b", "c"]) {
    tran.add({
      commit: () => log.push(`commit ${name}`),
      abort: () => log.push(`abort ${name}`),
      clean: () => log.push(`clean ${name}`),
    });
  }
  return tran;
}

describe("Transaction", () => {
  it("commits newest-first, then cleans newest-first", () => {
    const log: string[] = [];
    threeActions(log).finalize(undefined);
    expect(log).toEqual(["commit c", "commit b", "commit a", "clean c", "clean b", "clean a"]);
  });

  it("aborts newest-first, then cleans newest-first", () => {
    const log: string[] = [];
    threeActions(log).finalize(new Error("failed"));
    expect(log).toEqual(["abort c", "abort b", "abort a", "clean c", "clean b", "clean a"]);
  });

  it("actions may leave out any of the three", () => {
    const log: string[] = [];
    const tran = new Transaction();
    tran.add({ abort: () => log.push("undo") });
    tran.add({ clean: () => log.push("clean") });
    tran.add({ commit: () => log.push("keep") });
    tran.finalize(undefined);
    expect(log).toEqual(["keep", "clean"]);
  });

  it("finalize is the only way out, and only once", () => {
    const tran = threeActions([]);
    tran.finalize(undefined);
    expect(() => tran.finalize(undefined)).toThrow(TransactionFinishedError);
    expect(() => tran.add({})).toThrow(TransactionFinishedError);
  });
});

describe("runInTransaction", () => {
  it("commits when the body returns, and returns its value", () => {
    const log: string[] = [];
    const value = runInTransaction((tran) => {
      tran.add({ commit: () => log.push("commit"), abort: () => log.push("abort") });
      return 42;
    });
    expect(value).toBe(42);
    expect(log).toEqual(["commit"]);
  });

  it("aborts when the body throws, and rethrows what it threw", () => {
    const log: string[] = [];
    const failure = new Error("refused");
    expect(() =>
      runInTransaction((tran) => {
        tran.add({ commit: () => log.push("commit 1"), abort: () => log.push("abort 1") });
        tran.add({ commit: () => log.push("commit 2"), abort: () => log.push("abort 2") });
        throw failure;
      }),
    ).toThrow(failure);
    expect(log).toEqual(["abort 2", "abort 1"]);
  });
});
