/**
 * The VM state area (block/io.c `bdrv_co_readv_vmstate`/`bdrv_co_writev_vmstate`): a driver with
 * `.bdrv_load_vmstate`/`.bdrv_save_vmstate` (qcow2 alone in 7.2) serves the request; any other node
 * passes it to its primary child (a filter's, a raw node's file), and a node without one fails it
 * with -ENOTSUP.
 */
import type { DriverHost } from "../drivers/driver.js";
import { type BdsNode, primaryChild } from "../graph.js";
import type { Data } from "./data.js";
import { Errno, ioFail } from "./io-error.js";

/** The node that serves a VM state request made on `bs`; -ENOTSUP when the chain has none. */
function vmstateNode(bs: BdsNode): BdsNode {
  let n: BdsNode | undefined = bs;
  while (n && !n.driver.loadVmstate) n = primaryChild(n)?.bs;
  if (!n) ioFail(Errno.ENOTSUP);
  return n;
}

/** `bdrv_co_readv_vmstate`. */
export function bdrvLoadVmstate(host: DriverHost, bs: BdsNode, pos: number, bytes: number): Data {
  const n = vmstateNode(bs);
  return n.driver.loadVmstate!(host, n, pos, bytes);
}

/** `bdrv_co_writev_vmstate`. */
export function bdrvSaveVmstate(host: DriverHost, bs: BdsNode, pos: number, data: Data): void {
  const n = vmstateNode(bs);
  n.driver.saveVmstate!(host, n, pos, data);
}
