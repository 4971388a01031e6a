/** The `secret` statement and the checker's knowledge of secret ids (object-add qom-type=secret). */
import { describe, expect, it } from "vitest";
import { only, problems } from "./helpers.js";

describe("secrets in the language", () => {
  it("parses `secret ID key=value…`", () => {
    const s = only('secret sec0 data="two words" format=raw', "secret");
    expect(s.id.name).toBe("sec0");
    expect(s.options.map((o) => [o.key, o.value.type === "string" || o.value.type === "word" ? o.value.value : null])).toEqual([
      ["data", "two words"],
      ["format", "raw"],
    ]);
  });

  it("knows which secrets exist, for duplicates and for images that name one", () => {
    const text = [
      "secret sec0 data=a",
      "secret sec0 data=b",
      "image a.luks luks 1M key-secret=sec1",
      'qmp object-add {"qom-type": "secret", "id": "sec1", "data": "x"}',
      "image b.luks luks 1M key-secret=sec1",
      'qmp object-del {"id": "sec1"}',
      "image c.luks luks 1M key-secret=sec1",
    ].join("\n");
    expect(problems(text)).toEqual(["2:8 duplicate secret 'sec0'", "3:33 unknown secret 'sec1'", "7:33 unknown secret 'sec1'"]);
  });

  it("lets statements written to fail repeat an id, and nodes name any secret (QEMU's error is the result)", () => {
    const text = ["secret s0 data=a", "secret s0 data=b -> error /duplicate/", "add l0: luks file=(null-co) key-secret=nosuch -> error /No secret/"].join("\n");
    expect(problems(text)).toEqual([]);
  });

  it("checks a secret's options against its QOM properties", () => {
    expect(problems("secret s0 data=a keyd=k0")).toEqual(["1:18 unknown option 'keyd' for 'secret'"]);
  });
});
