/** The read-only queries. */
import { xdebugBlockGraph } from "../query/block-graph.js";
import { namedBlockNodes } from "../query/named-nodes.js";
import type { CommandHandler } from "./handler.js";

export const xDebugQueryBlockGraph: CommandHandler = (state) => xdebugBlockGraph(state);

export const queryNamedBlockNodes: CommandHandler = (state, args) => namedBlockNodes(state, args["flat"] === true);
