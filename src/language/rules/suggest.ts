import { didYouMean } from "../../text/did-you-mean.js";

/** A "did you mean" note for `word` among `candidates`, or no note. */
export function suggest(word: string, candidates: Iterable<string>): string[] {
  const hint = didYouMean(word, [...candidates]);
  return hint ? [`did you mean '${hint}'?`] : [];
}
