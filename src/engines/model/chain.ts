/**
 * Walking backing chains (block.c): the COW child of a format node, the filtered child of a
 * filter, skipping filters, finding an overlay, and freezing the links a block job relies on
 * (`bdrv_freeze_backing_chain`): a frozen link cannot be replaced or removed.
 */
import { type BdsNode, type Child, childNamed, filteredChild } from "./graph.js";
import { qemuAssert } from "./qemu-would-crash.js";
import { QemuHang } from "./qemu-would-hang.js";
import { fail } from "./qmp-failure.js";
import { BDRV_CHILD_COW } from "./roles.js";

/** `bdrv_cow_child`: a format node's backing (COW) child; filters have none. */
export function cowChild(bs: BdsNode): Child | undefined {
  if (bs.driver.isFilter) return undefined;
  const c = childNamed(bs, "backing");
  return c && c.role & BDRV_CHILD_COW ? c : undefined;
}

/** `bdrv_filter_or_cow_child`. */
export function filterOrCowChild(bs: BdsNode): Child | undefined {
  return cowChild(bs) ?? filteredChild(bs);
}

export function cowBs(bs: BdsNode | null): BdsNode | null {
  return bs ? (cowChild(bs)?.bs ?? null) : null;
}

export function filterBs(bs: BdsNode | null): BdsNode | null {
  return bs ? (filteredChild(bs)?.bs ?? null) : null;
}

export function filterOrCowBs(bs: BdsNode | null): BdsNode | null {
  return bs ? (filterOrCowChild(bs)?.bs ?? null) : null;
}

/** `bdrv_skip_filters`: down through every filter. */
export function skipFilters(bs: BdsNode | null): BdsNode | null {
  let n = bs;
  while (n) {
    const c = filteredChild(n);
    if (!c) break;
    n = c.bs;
  }
  return n;
}

/** `bdrv_backing_chain_next`: the next non-filter node below the first non-filter node. */
export function backingChainNext(bs: BdsNode | null): BdsNode | null {
  return skipFilters(cowBs(skipFilters(bs)));
}

/** `bdrv_chain_contains`: `base` is `top` or below it through filtered and COW links (null: always). */
export function chainContains(top: BdsNode, base: BdsNode | null): boolean {
  let n: BdsNode | null = top;
  while (n && n !== base) n = filterOrCowBs(n);
  return n !== null;
}

/**
 * `bdrv_find_overlay`: the first non-filter node above `bs` in `active`'s chain (null: the bottom
 * of the chain); null when `bs` is not in it or is `active`.
 */
export function findOverlay(active: BdsNode, bs: BdsNode | null): BdsNode | null {
  const target = skipFilters(bs);
  let n = skipFilters(active);
  while (n) {
    const next = backingChainNext(n);
    if (next === target) return n;
    n = next;
  }
  return null;
}

/** `bdrv_find_base`: the bottom of the chain. */
export function findBase(bs: BdsNode): BdsNode | null {
  return findOverlay(bs, null);
}

/** `bdrv_is_root_node`: nothing but BlockBackends uses the node. */
export function isRootNode(bs: BdsNode): boolean {
  return bs.parents.every((c) => c.parent.kind === "bb");
}

/**
 * The links from `bs` down to `base` (exclusive), walking filtered and COW children. A node
 * without a driver has neither (bdrv_cow_child and bdrv_filter_child return NULL), and QEMU's
 * loops go on from NULL to NULL: a base they do not reach keeps the main thread spinning.
 */
function chainLinks(bs: BdsNode, base: BdsNode | null): Child[] {
  const links: Child[] = [];
  for (let i: BdsNode | null = bs; i !== base; ) {
    if (!i) throw new QemuHang(`a walk of the backing chain from '${bs.name}' never reaches '${base!.name}': it loses its way at a node without a driver, and spins`);
    const c: Child | undefined = i.ejected ? undefined : filterOrCowChild(i);
    if (c) links.push(c);
    i = c ? c.bs : null;
  }
  return links;
}

/** `bdrv_is_backing_chain_frozen`, as the error it sets ("Cannot change 'backing' link from …"). */
export function checkChainNotFrozen(bs: BdsNode, base: BdsNode | null): void {
  for (const c of chainLinks(bs, base)) {
    if (c.frozen) fail(`Cannot change '${c.name}' link from '${parentName(c)}' to '${c.bs.name}'`);
  }
}

/** `bdrv_freeze_backing_chain`: all links or none; a link to a never-freeze node (a job filter) refuses. */
export function freezeBackingChain(bs: BdsNode, base: BdsNode | null): void {
  checkChainNotFrozen(bs, base);
  const links = chainLinks(bs, base);
  for (const c of links) if (c.bs.neverFreeze) fail(`Cannot freeze '${c.name}' link to '${c.bs.name}'`);
  for (const c of links) c.frozen = true;
}

/** `bdrv_unfreeze_backing_chain`: QEMU asserts each link was frozen. */
export function unfreezeBackingChain(bs: BdsNode, base: BdsNode | null): void {
  for (const c of chainLinks(bs, base)) {
    if (!c.frozen) qemuAssert({ file: "../../block.c", line: 5571, func: "bdrv_unfreeze_backing_chain" }, "child->frozen");
    c.frozen = false;
  }
}

function parentName(c: Child): string {
  return c.parent.kind === "node" ? c.parent.node.name : "";
}
