/**
 * `id_generate(ID_BLOCK)` from util/id.c: "#block" + a global counter + two random digits. The digits
 * come from a seeded PRNG so a model run is reproducible; the counter is consumed exactly where QEMU
 * consumes it (every auto-named open, including ones that fail later).
 */
import { formatAutoName } from "../../graph-view/auto-name.js";

export class AutoNamer {
  private counter = 0;
  private state: number;

  constructor(seed = 0x5eed) {
    this.state = seed >>> 0 || 1;
  }

  /** The next auto name, e.g. "#block025". */
  next(): string {
    return formatAutoName(this.counter++, this.random() % 100);
  }

  /** xorshift32: tiny, fast and deterministic. */
  private random(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }
}
