/**
 * A compressed cluster is what the zlib QEMU links writes (Debian 12's 1.2.13): its length decides
 * where the next compressed cluster goes, and a node's highest write. The expected digests were
 * taken from zlib 1.2.13's deflate with qcow2's parameters.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { deflateCluster, inflateCluster } from "../../../src/engines/model/data/qcow2/qcow2-compress.js";

/** 64 KiB of 64 short words drawn by an LCG: lazy matching and block splits both matter here. */
function words(): Buffer {
  let x = 12345;
  const next = () => {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    return (x >> 16) & 0xff;
  };
  const dict: number[][] = [];
  for (let w = 0; w < 64; w++) dict.push(Array.from({ length: 2 + (w % 11) }, next));
  const out: number[] = [];
  while (out.length < 65536) {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    out.push(...dict[(x >> 16) % 64]!);
  }
  return Buffer.from(out.slice(0, 65536));
}

describe("deflateCluster", () => {
  it("writes zlib 1.2.13's bytes", () => {
    const out = deflateCluster(words(), 65535)!;
    expect(out.length).toBe(16191);
    expect(createHash("sha256").update(out).digest("hex")).toBe("2df8dfec808d8736bef8d9d7f3f13dba4a17eeabed964f2abe8fde9169c92287");
    expect(inflateCluster(out, 65536)).toEqual(words());
  });

  it("gives up on what does not shrink below a cluster", () => {
    const noise = Buffer.from(Array.from({ length: 65536 }, (_, i) => (Math.imul(i, 2654435761) >>> 24) & 0xff));
    expect(deflateCluster(noise, 1000)).toBeNull();
  });
});
