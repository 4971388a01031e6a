/**
 * Command lines for the two kinds of QEMU process. In both, the QMP monitor is a socket chardev in
 * client mode (`server=off`): QEMU connects to the socket we already listen on, so there is nothing to
 * poll for, and QEMU exits at once if it cannot connect.
 */

/** QEMU's option parser treats "," as a separator; a literal comma is written ",,". */
export function escapeOptionValue(value: string): string {
  return value.replaceAll(",", ",,");
}

/** Full argument list for qemu-storage-daemon ("qsd") or qemu-system with no machine ("qemu"). */
export function monitorArgs(which: "qsd" | "qemu", socketPath: string): string[] {
  const chardev = `socket,id=mon0,path=${escapeOptionValue(socketPath)},server=off`;
  if (which === "qsd") return ["--chardev", chardev, "--monitor", "chardev=mon0"];
  // -M none: no guest, no CPU; it only hosts the block layer and HMP (for qemu-io).
  return ["-M", "none", "-nodefaults", "-display", "none", "-chardev", chardev, "-mon", "chardev=mon0,mode=control"];
}
