/**
 * What the sequence generator knows besides the live graph: which nodes the monitor owns, the
 * options each node was opened or last reopened with (as qemu-iotests 245's reopen helper tracks
 * them), exports, the NBD server and throttle groups. It learns only from commands that succeeded.
 */
import type { BlockGraph } from "./block-graph.js";
import type { Json, RecordedQmpStep } from "./steps.js";

type Dict = { [key: string]: Json };

/** Option keys that hold a child: a node name or an inline dict (blkverify's, copy-before-write's and blklogwrites' too). */
export const CHILD_KEYS = ["file", "image", "backing", "data-file", "raw", "test", "target", "log"] as const;

/** quorum's list of children, whose edges are named `children.N`. */
export const CHILD_LIST_KEY = "children";

/** One entry of query-named-block-nodes, reduced to what the generator uses. */
export interface NodeInfo {
  name: string;
  drv: string;
  ro: boolean;
  file: string;
}

/** One entry of query-jobs, reduced to what the generator uses. */
export interface JobInfo {
  id: string;
  type: string;
  status: string;
  /** The node the job was started on, as the start command named it (resolved). */
  device?: string;
}

/** The live state the generator decides from, queried before each step. */
export interface LiveView {
  graph: BlockGraph;
  nodes: NodeInfo[];
  /** Live block jobs (at most one in generated sequences, see gen-jobs.ts). */
  jobs: JobInfo[];
}

/** How a job was started: what decides the state it rests in once it finishes. */
export interface JobFlags {
  autoFinalize: boolean;
  autoDismiss: boolean;
  device?: string;
}

function isDict(v: Json | undefined): v is Dict {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The node's own options: everything but its children and its name. */
export function ownOptions(d: Dict): Dict {
  const out: Dict = {};
  for (const [k, v] of Object.entries(d)) {
    if (k !== "node-name" && k !== CHILD_LIST_KEY && !(CHILD_KEYS as readonly string[]).includes(k)) out[k] = v;
  }
  return out;
}

export class GenState {
  /** Roots created by blockdev-add and not deleted. */
  readonly owned = new Set<string>();
  /** Options per node name (auto names are never reused within one daemon). */
  readonly options = new Map<string, Dict>();
  /** Export id → node name. */
  readonly exports = new Map<string, string>();
  readonly throttleGroups = new Set<string>();
  /** Iothread objects (object-add qom-type=iothread). */
  readonly iothreads = new Set<string>();
  /** Job id → its flags, set when a start command is generated. */
  readonly jobFlags = new Map<string, JobFlags>();
  /** A job start succeeded in this sequence. */
  jobStarted = false;
  serverRunning = false;
  private counter = 0;

  /** A name not used before in this sequence. */
  freshName(prefix: string): string {
    return `${prefix}${this.counter++}`;
  }

  /** Learn from a step that ran; `after` is the graph once it finished. */
  observe(step: RecordedQmpStep, after: LiveView): void {
    if (!("return" in step.reply)) return;
    const args = (step.arguments ?? {}) as Dict;
    switch (step.execute) {
      case "blockdev-add": {
        const name = args["node-name"] as string;
        this.owned.add(name);
        this.learnTree(name, args, after.graph);
        break;
      }
      case "blockdev-del":
        this.owned.delete(args["node-name"] as string);
        break;
      case "blockdev-reopen":
        for (const entry of args.options as Dict[]) this.learnTree(entry["node-name"] as string, entry, after.graph);
        break;
      case "object-add":
        if (args["qom-type"] === "iothread") this.iothreads.add(args.id as string);
        else this.throttleGroups.add(args.id as string);
        break;
      case "nbd-server-start":
        this.serverRunning = true;
        break;
      case "block-export-add":
        this.exports.set(args.id as string, args["node-name"] as string);
        break;
      case "block-export-del":
        this.exports.delete(args.id as string);
        break;
      case "block-stream":
      case "block-commit":
      case "blockdev-mirror": {
        const flags = this.jobFlags.get(args["job-id"] as string);
        if (flags) flags.device = args.device as string;
        this.jobStarted = true;
        break;
      }
    }
  }

  private learnTree(name: string, d: Dict, graph: BlockGraph): void {
    this.options.set(name, ownOptions(d));
    const inline: [string, Json | undefined][] = CHILD_KEYS.map((key) => [key, d[key]]);
    // quorum's inline children sit in a list; their edges are children.0, children.1, …
    const list = d[CHILD_LIST_KEY];
    if (Array.isArray(list)) list.forEach((child, i) => inline.push([`${CHILD_LIST_KEY}.${i}`, child]));
    for (const [key, child] of inline) {
      if (!isDict(child)) continue;
      const childName = graph.child(name, key);
      if (childName !== undefined) this.learnTree(childName, child, graph);
    }
  }
}
