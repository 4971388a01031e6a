/** The ValueResolver the option builder uses during a run: node paths via the live graph. */
import { splitNodePath } from "../../graph-view/node-paths.js";
import type { NodeRef, Value } from "../../language/ast.js";
import type { ValueResolver } from "../blockdev-options.js";
import type { StepContext } from "../context.js";
import { nodeNameFor } from "../graph-state.js";

/** A reference written as a word (`top/backing/file`) as a NodeRef. */
export function refFromText(text: string, value: Value): NodeRef {
  const { root, edges } = splitNodePath(text);
  return { type: "noderef", text, root, path: edges, location: value.location };
}

export function resolverFor(ctx: StepContext): ValueResolver {
  return {
    workdir: ctx.workdir,
    nodeName: (text, value) => nodeNameFor(ctx, refFromText(text, value)),
  };
}
