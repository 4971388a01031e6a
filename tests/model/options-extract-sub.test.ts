/** `qdict_extract_subqdict` (engines/model/options.ts): what moves, and in which order it arrives. */
import { describe, expect, it } from "vitest";
import { extractSub } from "../../src/engines/model/options.js";
import { qdictBucket, qdictKeyOrder } from "../../src/qapi/qdict-order.js";

/** Keys "prefix.kN" until two of them share a QDict bucket. */
function twoSharingABucket(prefix: string): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const key = `${prefix}k${i}`;
    const other = seen.get(qdictBucket(key));
    if (other !== undefined) return [other, key];
    seen.set(qdictBucket(key), key);
  }
}

describe("extractSub", () => {
  it("moves the prefixed keys, walked in QDict order, and leaves the others in place", () => {
    const [older, newer] = twoSharingABucket("file.");
    const options: Record<string, unknown> = { driver: "qcow2", [older]: 1, "node-name": "n", [newer]: 2, "file.driver": "file" };
    const sub = extractSub(options, "file.");
    expect(options).toEqual({ driver: "qcow2", "node-name": "n" });
    expect(Object.keys(options)).toEqual(["driver", "node-name"]);
    expect(sub).toEqual({ [older.slice(5)]: 1, [newer.slice(5)]: 2, driver: "file" });
    // Within the shared bucket the newer key comes first, so it was inserted into the sub-dict first.
    const keys = Object.keys(sub);
    expect(keys.indexOf(newer.slice(5))).toBeLessThan(keys.indexOf(older.slice(5)));
  });

  it("orders the moved keys as a walk of the whole dict in QDict order would", () => {
    for (let seed = 1; seed <= 200; seed++) {
      let x = seed;
      const rand = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n);
      const options: Record<string, unknown> = {};
      for (let i = 0; i < 3 + rand(30); i++) options[`${rand(3) ? "backing." : ""}o${rand(400)}`] = i;
      const whole = qdictKeyOrder(Object.keys(options)).filter((k) => k.startsWith("backing."));
      const sub = extractSub({ ...options }, "backing.");
      expect(Object.keys(sub)).toEqual(whole.map((k) => k.slice("backing.".length)));
    }
  });
});
