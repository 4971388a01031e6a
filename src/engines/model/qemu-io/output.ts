/**
 * What one qemu-io command prints, kept as the qemu engine returns it: QEMU's stdout and stderr in
 * the order written (each line is one write, see qemu/hmp-qemu-io.ts), then the text of the HMP
 * reply, where `error_report`, `warn_report` and `qemu_printf` land, each line ended by `\r\n` as the
 * monitor writes it.
 */
export class QemuIoOutput {
  #log = "";
  #monitor = "";

  /** `printf` (stdout) or `fprintf(stderr, …)`: text as written. */
  print(text: string): void {
    this.#log += text;
  }

  /** One line on stdout or stderr. */
  line(text: string): void {
    this.#log += `${text}\n`;
  }

  /** `error_report` / `error_report_err` / `warn_report` / `qemu_printf` while the monitor is current. */
  monitor(text: string): void {
    for (const l of text.split("\n")) this.#monitor += `${l}\r\n`;
  }

  /** Everything, as the engine's `io` returns it. */
  text(): string {
    return this.#log + this.#monitor;
  }
}
