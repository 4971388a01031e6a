/**
 * An SVG document checked as XML with a real parser (@xmldom/xmldom), failing on any error or
 * warning, and the texts it draws, in document order.
 */
import { DOMParser } from "@xmldom/xmldom";

export function svgTexts(svg: string): string[] {
  const problems: string[] = [];
  let doc;
  try {
    // Fatal errors are thrown; errors and warnings are reported to onError, and count as much.
    doc = new DOMParser({ onError: (level, message) => void problems.push(`${level}: ${message}`) }).parseFromString(svg, "image/svg+xml");
  } catch (e) {
    problems.push((e as Error).message);
  }
  if (problems.length > 0 || !doc) throw new Error(`not well-formed XML:\n${problems.join("\n")}`);
  const root = doc.documentElement;
  if (root?.nodeName !== "svg" || root.getAttribute("xmlns") !== "http://www.w3.org/2000/svg") throw new Error("the root element is not <svg> in the SVG namespace");
  return Array.from(doc.getElementsByTagName("text")).map((t) => t.textContent ?? "");
}
