/**
 * quorum's data path (block/quorum.c): reads vote (read-pattern=quorum) or take the first child
 * that answers (fifo); writes and zero writes go to every child and succeed when at least
 * vote-threshold children did; block status asks every child. Children that fail or lose a vote
 * are reported in QUORUM_REPORT_BAD events, a request without a quorum in QUORUM_FAILURE.
 *
 * QEMU runs the children's requests as coroutines started in child order; the model runs them one
 * after the other in that order, which is the order their events come in when each completes
 * before the next one starts.
 */
import type { DriverHost } from "../drivers/driver.js";
import type { BdsNode } from "../graph.js";
import { qemuExit } from "../qemu-would-crash.js";
import { bdrvFlush, bdrvPreadv, bdrvPwritev, bdrvPwriteZeroes } from "./block-io.js";
import { blockStatusAbove } from "./block-status.js";
import { Data } from "./data.js";
import { Errno, IoError, ioFail, ModelIoUnsupportedError, strerror } from "./io-error.js";
import { BDRV_BLOCK_DATA, BDRV_BLOCK_ZERO, BDRV_REQ_WRITE_UNCHANGED, BDRV_REQ_ZERO_WRITE, BDRV_SECTOR_SIZE } from "./request-flags.js";

/** What the data path needs of BDRVQuorumState. */
export interface QuorumIoState {
  readonly children: readonly { readonly bs: BdsNode }[];
  readonly threshold: number;
  readonly isBlkverify: boolean;
  readonly rewriteCorrupted: boolean;
  readonly readPattern: "quorum" | "fifo";
}

type OpType = "read" | "write" | "flush";

/** The sectors a request covers, as quorum's events give them. */
function sectors(offset: number, bytes: number): { "sector-num": number; "sectors-count": number } {
  const start = Math.floor(offset / BDRV_SECTOR_SIZE);
  const end = Math.ceil((offset + bytes) / BDRV_SECTOR_SIZE);
  return { "sector-num": start, "sectors-count": end - start };
}

/** `quorum_report_bad`: `ret` < 0 adds strerror's text. */
function reportBad(host: DriverHost, type: OpType, offset: number, bytes: number, child: BdsNode, ret: number): void {
  host.emit("QUORUM_REPORT_BAD", { type, ...(ret < 0 ? { error: strerror(-ret) } : {}), "node-name": child.name, ...sectors(offset, bytes) });
}

/** `quorum_report_failure`: the reference is the node's name (no device name in the graphs the model builds). */
function reportFailure(host: DriverHost, node: BdsNode, offset: number, bytes: number): void {
  host.emit("QUORUM_FAILURE", { reference: node.name, ...sectors(offset, bytes) });
}

/**
 * A vote list as quorum_count_vote builds it: a new version goes to the head, and so does each
 * new item of a version. `key` tells versions apart (a hash of the data, or an errno).
 */
class Votes<K> {
  /** Head first. */
  readonly versions: { key: K; index: number; count: number; items: number[] }[] = [];
  constructor(private readonly same: (a: K, b: K) => boolean) {}

  count(key: K, index: number): void {
    let v = this.versions.find((x) => this.same(x.key, key));
    if (!v) {
      v = { key, index, count: 0, items: [] };
      this.versions.unshift(v);
    }
    v.count++;
    v.items.unshift(index);
  }

  /** `quorum_get_vote_winner`: the first version, head first, with the most votes. */
  winner(): { key: K; index: number; count: number; items: number[] } | undefined {
    let best: (typeof this.versions)[number] | undefined;
    for (const v of this.versions) if (!best || v.count > best.count) best = v;
    return best;
  }
}

/** `quorum_vote_error`: the most common of the children's errors (0 if none failed). */
function voteError(rets: readonly number[]): number {
  const votes = new Votes<number>((a, b) => a === b);
  rets.forEach((ret, i) => {
    if (ret) votes.count(ret, i);
  });
  return votes.winner()?.key ?? 0;
}

/** Run one child request: 0 or -errno, as the coroutine's `ret`. */
function attempt<T>(run: () => T): { ret: number; value?: T } {
  try {
    return { ret: 0, value: run() };
  } catch (e) {
    if (e instanceof IoError) return { ret: -e.errno };
    throw e;
  }
}

/** Data the comparisons can look at: every byte known (a child's untouched buffer holds garbage in QEMU). */
function known(d: Data, what: string): Data {
  if (d.segments.some((s) => s.kind === "untouched")) throw new ModelIoUnsupportedError(`${what}: a quorum compares buffers a child left uninitialised`);
  return d;
}

function sameData(a: Data, b: Data): boolean {
  if (a.length !== b.length) return false;
  return a.toBuffer().equals(b.toBuffer());
}

/** `quorum_compare` in blkverify mode: the first differing byte, or -1. */
function firstDifference(a: Data, b: Data): number {
  const x = a.toBuffer();
  const y = b.toBuffer();
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

/** `quorum_co_preadv`. */
export function quorumPreadv(host: DriverHost, node: BdsNode, s: QuorumIoState, offset: number, bytes: number, flags: number): Data {
  if (s.readPattern === "fifo") return readFifo(host, s, offset, bytes);
  // read_quorum_children: every child into a buffer of its own.
  const results = s.children.map((c) => {
    const r = attempt(() => bdrvPreadv(host, c.bs, offset, bytes, 0));
    if (r.ret < 0) reportBad(host, "read", offset, bytes, c.bs, r.ret);
    return r;
  });
  const rets = results.map((r) => r.ret);
  const successes = rets.filter((r) => r === 0).length;
  // quorum_has_too_much_io_failed.
  if (successes < s.threshold) {
    reportFailure(host, node, offset, bytes);
    throw new IoError(-voteError(rets));
  }
  const what = `reads through quorum node '${node.name}'`;
  const first = rets.indexOf(0);
  const firstData = known(results[first]!.value!, what);
  let quorum = true;
  for (let j = first + 1; j < results.length; j++) {
    if (rets[j]) continue;
    const other = known(results[j]!.value!, what);
    if (s.isBlkverify) {
      const at = firstDifference(firstData, other);
      // quorum_compare in blkverify mode: QEMU prints where and exits.
      if (at >= 0) qemuExit(1, `quorum: offset=${offset} bytes=${bytes} contents mismatch at offset ${offset + at}`);
      continue;
    }
    if (!sameData(firstData, other)) {
      quorum = false;
      break;
    }
  }
  if (quorum) return firstData;
  // Hash every successful read and vote (SHA-256 of the data: equal hashes are equal data).
  const votes = new Votes<Buffer>((a, b) => a.equals(b));
  results.forEach((r, i) => {
    if (r.ret === 0) votes.count(known(r.value!, what).toBuffer(), i);
  });
  const winner = votes.winner()!;
  if (winner.count < s.threshold) {
    reportFailure(host, node, offset, bytes);
    throw new IoError(Errno.EIO);
  }
  const data = results[winner.index]!.value!;
  // quorum_report_bad_versions, then quorum_rewrite_bad_versions (errors ignored).
  const losers = votes.versions.filter((v) => v !== winner);
  for (const v of losers) for (const i of v.items) reportBad(host, "read", offset, bytes, s.children[i]!.bs, 0);
  if (s.rewriteCorrupted) {
    for (const v of losers) for (const i of v.items) attempt(() => bdrvPwritev(host, s.children[i]!.bs, offset, data, flags & ~BDRV_REQ_WRITE_UNCHANGED));
  }
  return data;
}

/** `read_fifo_child`: the children in order until one answers, into the caller's buffer. */
function readFifo(host: DriverHost, s: QuorumIoState, offset: number, bytes: number): Data {
  let last = 0;
  for (const c of s.children) {
    const r = attempt(() => bdrvPreadv(host, c.bs, offset, bytes, 0));
    if (r.ret === 0) return r.value!;
    reportBad(host, "read", offset, bytes, c.bs, r.ret);
    last = r.ret;
  }
  throw new IoError(-last);
}

/**
 * `quorum_co_pwritev` (and `quorum_co_pwrite_zeroes`, which is the same with BDRV_REQ_ZERO_WRITE):
 * every child, then a failure if fewer than vote-threshold succeeded.
 */
export function quorumPwritev(host: DriverHost, node: BdsNode, s: QuorumIoState, offset: number, data: Data, flags: number): void {
  const rets = s.children.map((c) => {
    const r = attempt(() => {
      if (flags & BDRV_REQ_ZERO_WRITE) {
        // bdrv_co_pwrite_zeroes: no unmapping on a child not opened with discard=unmap.
        bdrvPwriteZeroes(host, c.bs, offset, data.length, flags & ~BDRV_REQ_ZERO_WRITE);
      } else {
        bdrvPwritev(host, c.bs, offset, data, flags);
      }
    });
    if (r.ret < 0) reportBad(host, "write", offset, data.length, c.bs, r.ret);
    return r.ret;
  });
  if (rets.filter((r) => r === 0).length < s.threshold) {
    reportFailure(host, node, offset, data.length);
    const ret = voteError(rets);
    throw new IoError(-ret);
  }
}

/**
 * `quorum_co_block_status`: zeros where every child reads zeros (for the shortest of their
 * answers), data where any child has data (for the longest); a child whose status fails is reported
 * bad and makes the whole range data.
 */
export function quorumBlockStatus(host: DriverHost, s: QuorumIoState, wantZero: boolean, offset: number, bytes: number): { status: number; pnum: number } {
  let pnumZero = bytes;
  let pnumData = 0;
  for (const c of s.children) {
    const { ret, value: r } = attempt(() => blockStatusAbove(host, c.bs, null, false, wantZero, offset, bytes));
    // A child that fails is reported, and the whole range counts as data.
    if (!r) {
      reportBad(host, "read", offset, bytes, c.bs, ret);
      pnumData = bytes;
      break;
    }
    if (r.status & BDRV_BLOCK_ZERO) pnumZero = Math.min(pnumZero, r.pnum);
    else pnumData = Math.max(pnumData, r.pnum);
  }
  return pnumData ? { status: BDRV_BLOCK_DATA, pnum: pnumData } : { status: BDRV_BLOCK_ZERO, pnum: pnumZero };
}

/**
 * `quorum_co_flush`: every child is flushed, each failure reported; the flush succeeds when at least
 * vote-threshold children did, else it fails with the error most children got.
 */
export function quorumFlush(host: DriverHost, s: QuorumIoState): void {
  const votes = new Votes<number>((a, b) => a === b);
  let successes = 0;
  s.children.forEach((c, i) => {
    const { ret } = attempt(() => bdrvFlush(host, c.bs));
    if (ret) {
      reportBad(host, "flush", 0, 0, c.bs, ret);
      votes.count(ret, i);
    } else {
      successes++;
    }
  });
  if (successes < s.threshold) ioFail(-votes.winner()!.key);
}
