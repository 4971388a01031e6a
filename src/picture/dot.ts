/**
 * Graphviz DOT for block-graph pictures. The text depends only on the picture (no ids, no dates,
 * no versions), so it can be kept as a golden and diffed.
 *
 * ```dot
 * digraph "reopen/detach-backing" {
 *   "top" [label="top\nqcow2, rw"];
 *   "top" -> "top/file" [label="file\lperm=[consistent-read, write, resize]\lshared=[consistent-read, write-unchanged]\l"];
 * }
 * ```
 *
 * Block nodes are rounded boxes (grey when read-only), exports and other BlockBackends plain boxes,
 * jobs parallelograms; parents above children.
 */
import { formatPerms } from "../transcript/perms.js";
import type { GraphPicture, PictureNode } from "./graph-picture.js";

// Courier: Graphviz sizes boxes by its own font metrics, and only a monospace font is drawn at the
// width it assumes by every SVG viewer (any monospace font advances 0.6em per character).
const HEADER = [
  '  graph [rankdir=TB, fontname="Courier", fontsize=12];',
  '  node [fontname="Courier", fontsize=12, shape=box, style="rounded,filled", fillcolor=white];',
  '  edge [fontname="Courier", fontsize=10];',
];

/** One picture as a DOT digraph named by its title. */
export function renderGraphDot(view: GraphPicture): string {
  return [`digraph ${quote(view.title)} {`, ...HEADER, ...body(view, "", "  "), "}", ""].join("\n");
}

/**
 * Several pictures in one digraph, each in a cluster labelled with its title (one per parameter
 * value of a scenario), so that they can be compared side by side in one file.
 */
export function renderGraphsDot(title: string, views: readonly GraphPicture[]): string {
  const lines = [`digraph ${quote(title)} {`, ...HEADER];
  views.forEach((v, i) => {
    // Node ids get the cluster's number in front: the same label is a different node in each cluster.
    lines.push(`  subgraph ${quote(`cluster_${i}`)} {`, `    label=${quote(v.title)};`, ...body(v, `${i}:`, "    "), "  }");
  });
  lines.push("}", "");
  return lines.join("\n");
}

function body(view: GraphPicture, idPrefix: string, indent: string): string[] {
  const id = (label: string) => quote(idPrefix + label);
  const lines = view.nodes.map((n) => `${indent}${id(n.label)} [${nodeAttributes(n)}];`);
  for (const e of view.edges) {
    const label = leftJustified([e.role, `perm=${formatPerms(e.perm)}`, `shared=${formatPerms(e.shared)}`]);
    lines.push(`${indent}${id(e.parent)} -> ${id(e.child)} [label=${label}];`);
  }
  if (view.nodes.length === 0) lines.push(`${indent}${id("(empty graph)")} [shape=plaintext, style=""];`);
  return lines;
}

function nodeAttributes(n: PictureNode): string {
  if (n.kind === "block-backend") return `label=${quote(n.label)}, style=""`;
  if (n.kind === "block-job") return `label=${quote(n.label)}, shape=parallelogram, style=""`;
  if (n.driver === undefined) return `label=${quote(n.label)}`;
  const label = quote(`${n.label}\n${n.driver}, ${n.readOnly ? "ro" : "rw"}`);
  return n.readOnly ? `label=${label}, fillcolor="#e4e4e4"` : `label=${label}`;
}

/** Lines of a label, each ended by DOT's `\l` (left-justified), as one quoted string. */
function leftJustified(lines: readonly string[]): string {
  return `"${lines.map((l) => quote(l).slice(1, -1) + "\\l").join("")}"`;
}

/**
 * A DOT double-quoted string. `\` and `"` are escaped; a newline becomes DOT's `\n`, a centred line
 * break in a label. Other control characters cannot occur in node names or roles.
 */
export function quote(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\r?\n/g, "\\n")}"`;
}
