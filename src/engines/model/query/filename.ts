/**
 * `bdrv_refresh_filename`: a node's filename is its "exact" filename when one exists (a protocol's
 * file name, inherited by a format node directly on top of it), otherwise `json:` + its full open
 * options (driver, strong runtime options, children's full options). Computed bottom-up with an
 * explicit stack and cached for one query, so deep chains stay linear.
 */
import { type BdsNode, childNamed, primaryChild } from "../graph.js";
import { qemuAssert } from "../qemu-would-crash.js";
import { qdictKeyOrder } from "../../../qapi/qdict-order.js";

/** bs->filename is a PATH_MAX buffer; longer json: names are cut and end in "...". */
const PATH_MAX = 4096;

interface NodeFilename {
  exact: string;
  /**
   * The start of the JSON text of bs->full_open_options, at most PATH_MAX characters: all a
   * filename can show. Keeping only a prefix keeps deep chains linear (each level nests the one below).
   */
  fullJson: string;
  filename: string;
}

/** A value of the options dict: a scalar, or a child's (already serialized) full options. */
type OptValue = { json: string } | unknown;

/** QEMU's JSON text of a scalar (qobject_to_json); an integer past 2^53 arrives as a bigint. */
function scalarJson(value: unknown): string {
  return typeof value === "bigint" ? value.toString() : JSON.stringify(value);
}

/** The dict's JSON text in QDict key order with ", " / ": " separators, cut after PATH_MAX characters. */
function serializeCapped(opts: Record<string, OptValue>): string {
  let out = "{";
  let first = true;
  for (const key of qdictKeyOrder(Object.keys(opts))) {
    // Past PATH_MAX nothing more can show; cutting here bounds every level's text.
    if (out.length > PATH_MAX) return out.slice(0, PATH_MAX + 1);
    const v = opts[key];
    const text = v !== null && typeof v === "object" && "json" in v ? (v as { json: string }).json : scalarJson(v);
    out += `${first ? "" : ", "}${JSON.stringify(key)}: ${text}`;
    first = false;
  }
  out += "}";
  return out.length > PATH_MAX ? out.slice(0, PATH_MAX + 1) : out;
}

export class FilenameCache {
  private readonly done = new Map<BdsNode, NodeFilename>();

  /** bs->filename after a refresh. */
  filename(node: BdsNode): string {
    return this.get(node).filename;
  }

  /** bs->exact_filename after a refresh ("" when the node has none). */
  exactFilename(node: BdsNode): string {
    return this.get(node).exact;
  }

  private get(node: BdsNode): NodeFilename {
    const cached = this.done.get(node);
    if (cached) return cached;
    // Post-order over children without recursion.
    const stack: Array<[BdsNode, boolean]> = [[node, false]];
    while (stack.length > 0) {
      const [n, expanded] = stack.pop()!;
      if (this.done.has(n)) continue;
      if (!expanded) {
        stack.push([n, true]);
        for (const c of n.children) if (!this.done.has(c.bs)) stack.push([c.bs, false]);
        continue;
      }
      this.done.set(n, this.compute(n));
    }
    return this.done.get(node)!;
  }

  private compute(n: BdsNode): NodeFilename {
    if (n.implicit && n.children.length > 0) {
      // An implicit job filter copies everything from its single child.
      if (n.children.length > 1) qemuAssert({ file: "../../block.c", line: 7756, func: "bdrv_refresh_filename" }, "QLIST_NEXT(child, next) == NULL");
      return this.done.get(n.children[0]!.bs)!;
    }
    const opts: Record<string, OptValue> = {};
    let strong = false;
    for (const key of ["driver", "filename", ...(n.driver.strongOpts ?? [])]) {
      let given = false;
      if (key.endsWith(".")) {
        // A prefix walks bs->options in QDict order, so keys sharing a bucket reach `d` newest first.
        for (const k of qdictKeyOrder(Object.keys(n.options))) {
          if (k.startsWith(key)) {
            opts[k] = n.options[k];
            given = true;
          }
        }
      } else if (key in n.options) {
        opts[key] = n.options[key];
        given = true;
      }
      if (given && key !== "driver" && key !== "filename") strong = true;
    }
    if (!("driver" in opts)) opts["driver"] = n.driver.name;
    const backing = childNamed(n, "backing");
    const overridden = backing ? n.autoBackingFile !== this.done.get(backing.bs)!.filename : n.autoBackingFile !== "";
    if (n.driver.gatherChildOptions) {
      const gathered = n.driver.gatherChildOptions(n, (bs) => this.done.get(bs)!.fullJson);
      for (const [key, json] of Object.entries(gathered)) opts[key] = { json };
    } else {
      for (let i = n.children.length - 1; i >= 0; i--) {
        const c = n.children[i]!;
        if (c === backing && !overridden) continue;
        opts[c.name] = { json: this.done.get(c.bs)!.fullJson };
      }
      if (overridden && !backing) opts["backing"] = null;
    }

    const primary = primaryChild(n)?.bs;
    const primaryExact = primary ? this.done.get(primary)!.exact : "";
    let exact: string;
    if (n.driver.refreshFilename) {
      const primaryFilename = primary ? this.done.get(primary)!.filename : "";
      exact = n.driver.refreshFilename(n, {
        fullOpenOptionKeys: Object.keys(opts),
        primaryExactFilename: primaryExact,
        primaryFilename,
        exactFilenameOf: (bs) => this.done.get(bs)?.exact ?? "",
      });
    } else if (primary) {
      // A format node directly on a protocol node may take its filename, as opening that file
      // would build the same tree again: not for filters, nor with strong options or another backing.
      const reproducible = primary.driver.protocol && !n.driver.isFilter && !(strong || overridden);
      exact = primaryExact && reproducible ? primaryExact : "";
    } else {
      exact = n.exactFilename;
    }
    const fullJson = serializeCapped(opts);
    let filename = exact;
    if (!filename) {
      filename = `json:${fullJson}`;
      if (filename.length >= PATH_MAX) filename = `${filename.slice(0, PATH_MAX - 4)}...`;
    }
    return { exact, fullJson, filename };
  }
}
