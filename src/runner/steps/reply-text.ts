/**
 * Reply values for the transcript: strings normalized (scratch paths, auto node names) before the
 * layout, because the layout depends on their length, which differs between runs until then.
 */
import { mentionsAutoName } from "../../graph-view/auto-name.js";
import { layoutJson, mapStrings } from "../../transcript/json-layout.js";
import type { StepContext } from "../context.js";
import { graphState, normalizePlain } from "../graph-state.js";

/** A normalizer for the strings of `value`; the graph is queried only when one names an auto-named node. */
export async function normalizerFor(ctx: StepContext, value: unknown): Promise<(text: string) => string> {
  let auto = false;
  mapStrings(value, (s) => {
    auto ||= mentionsAutoName(s);
    return s;
  });
  return auto ? (await graphState(ctx)).normalize : (t) => normalizePlain(ctx, t);
}

/** `value` normalized and laid out for a transcript line that already holds `lead` characters. */
export async function replyText(ctx: StepContext, value: unknown, lead: number): Promise<string> {
  const normalize = await normalizerFor(ctx, value);
  return layoutJson(mapStrings(value, normalize), lead);
}
