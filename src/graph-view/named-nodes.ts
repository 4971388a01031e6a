/** query-named-block-nodes (flat), reduced to what transcripts show and the differential test uses. */
import { GraphReplyError } from "./errors.js";

export interface NamedNodeInfo {
  /** node-name as QEMU reports it (may be `#block123`). */
  name: string;
  /** Driver (`drv`). */
  driver: string;
  readOnly: boolean;
  /** The image file name; only meaningful for protocol (`file`) nodes. */
  filename: string;
}

/** Parse the `return` value of query-named-block-nodes. */
export function parseNamedNodes(value: unknown): NamedNodeInfo[] {
  if (!Array.isArray(value)) throw new GraphReplyError("query-named-block-nodes did not return a list");
  return value.map((v: Record<string, unknown>) => {
    if (typeof v?.["node-name"] !== "string" || typeof v.drv !== "string" || typeof v.ro !== "boolean") {
      throw new GraphReplyError(`query-named-block-nodes: malformed entry ${JSON.stringify(v)}`);
    }
    return { name: v["node-name"], driver: v.drv, readOnly: v.ro, filename: typeof v.file === "string" ? v.file : "" };
  });
}
