/**
 * `show graph` as a picture: with `run --pictures` each `show graph` step also draws the graph it
 * shows as SVG (src/picture), from the same x-debug-query-block-graph reply plus
 * query-named-block-nodes for drivers and ro/rw. The pictures are collected here during the run;
 * the runner decides where they go (beside the golden, or into a failed run's scratch directory).
 * The transcript does not mention them, so it is the same with and without --pictures.
 */
import type { ShowStatement } from "../../language/ast.js";
import { graphPicture } from "../../picture/graph-picture.js";
import type { DrawnPicture } from "../../picture/picture-files.js";
import { renderGraphSvg } from "../../picture/svg.js";
import type { StepContext } from "../context.js";
import { namedNodes, type GraphState } from "../graph-state.js";

/** The pictures one run draws, in step order. */
export class PictureBook {
  readonly drawn: DrawnPicture[] = [];
  private shown = 0;

  /** @param title what the pictures are of: the scenario instance's display name. */
  constructor(private readonly title: string) {}

  /**
   * The key of the next `show graph`: its name, or its number among the scenario's `show graph`
   * steps (named ones included), counted from 1.
   */
  nextKey(stmt: ShowStatement): string {
    this.shown++;
    return stmt.picture?.name ?? String(this.shown);
  }

  /** The picture's title: the instance and the step, as a reader finds it in the transcript. */
  titleFor(key: string): string {
    return `${this.title}: show graph ${key}`;
  }
}

/** Draw the graph of a `show graph` step into the run's picture book, when the run keeps one. */
export async function drawShownGraph(ctx: StepContext, stmt: ShowStatement, state: GraphState): Promise<void> {
  const book = ctx.pictures;
  if (!book) return;
  const key = book.nextKey(stmt);
  const picture = graphPicture(book.titleFor(key), state.graph, state.labels, await namedNodes(ctx));
  book.drawn.push({ key, svg: await renderGraphSvg(picture) });
}
