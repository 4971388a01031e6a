/** The read-only queries. */
import { xdebugBlockGraph } from "../query/block-graph.js";
import { namedBlockNodes } from "../query/named-nodes.js";
import { queryNodeStats } from "../query/block-stats.js";
import type { CommandHandler } from "./handler.js";

export const xDebugQueryBlockGraph: CommandHandler = (state) => xdebugBlockGraph(state);

export const queryNamedBlockNodes: CommandHandler = (state, args) => namedBlockNodes(state, args["flat"] === true);

/**
 * query-block and query-blockstats list BlockBackends with a name or an attached device
 * (`if (!*blk_name(blk) && !blk_get_attached_dev(blk)) continue;`): the storage daemon has none,
 * nor has qemu-system as the engine starts it (an export's, a job's and qemu-io's are anonymous).
 */
export const queryBlock: CommandHandler = () => [];

/** With `query-nodes`, every node's statistics. */
export const queryBlockstats: CommandHandler = (state, args) => (args["query-nodes"] === true ? queryNodeStats(state) : []);
