/** `secret ID key=value …` sends every value as the text written, numbers and on/off included. */
import { expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { inlineRunner } from "../support/run-inline.js";

const run = inlineRunner(30_000);

it("sends a number as the text written: a luks image made with data=0123 opens with the passphrase \"0123\"", async () => {
  const r = await run(
    [
      'scenario "numeric passphrase"',
      "secret s0 data=0123",
      'secret s1 data="0123"',
      "image d.luks luks 1M key-secret=s0 iter-time=10",
      "add l: luks file=(file filename=d.luks) key-secret=s1",
      "",
    ].join("\n"),
    new ModelEngine(),
  );
  expect(r.failures).toEqual([]);
});
