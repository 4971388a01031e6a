/**
 * QEMU's auto node names, the one place that knows their form. `id_generate(ID_BLOCK)` (util/id.c)
 * makes "#block" + a global counter + two random digits, so they differ between runs and engines
 * and must never reach a transcript or a comparison as they are.
 */

/** Where an auto name stands in a message. At least three digits: a user's invalid `#block1` echoed in an error is not one. */
const IN_TEXT = /#block\d{3,}/g;

/** The name `id_generate` makes from the counter and the random number (0-99). */
export function formatAutoName(counter: number, random: number): string {
  return `#block${counter}${random < 10 ? "0" : ""}${random}`;
}

/**
 * Whether a node-name is one QEMU made up. A user's name must start with a letter (`id_wellformed`),
 * so every name starting with `#` is QEMU's.
 */
export function isAutoName(name: string): boolean {
  return name.startsWith("#");
}

/** Whether a message mentions an auto name. */
export function mentionsAutoName(text: string): boolean {
  return text.search(IN_TEXT) !== -1;
}

/** Replace every auto name in a message by what `replace` returns for it. */
export function replaceAutoNames(text: string, replace: (name: string) => string): string {
  return text.replace(IN_TEXT, replace);
}
