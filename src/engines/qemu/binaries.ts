/**
 * Which QEMU binaries to run: the options object wins, then the environment variables qemu-iotests
 * uses (QSD_PROG, QEMU_PROG, QEMU_IMG_PROG, QEMU_IO_PROG), then the plain names looked up on PATH.
 */

export interface QemuBinaries {
  /** qemu-storage-daemon: the default process for a scenario. */
  qsd: string;
  /** qemu-system-*: started instead of the daemon when a scenario needs HMP qemu-io. */
  qemu: string;
  /** qemu-img: creates images. */
  img: string;
  /** qemu-io: resolved for completeness; io runs through HMP in qemu-system. */
  io: string;
}

const fromEnv: Record<keyof QemuBinaries, [variable: string, fallback: string]> = {
  qsd: ["QSD_PROG", "qemu-storage-daemon"],
  qemu: ["QEMU_PROG", "qemu-system-x86_64"],
  img: ["QEMU_IMG_PROG", "qemu-img"],
  io: ["QEMU_IO_PROG", "qemu-io"],
};

/** Resolve every binary; empty strings count as unset. */
export function resolveBinaries(
  given: Partial<QemuBinaries> = {},
  env: Record<string, string | undefined> = process.env,
): QemuBinaries {
  const pick = (key: keyof QemuBinaries): string => {
    const [variable, fallback] = fromEnv[key];
    return given[key] || env[variable] || fallback;
  };
  return { qsd: pick("qsd"), qemu: pick("qemu"), img: pick("img"), io: pick("io") };
}

/** The environment variable that names a binary, for error messages ("set QSD_PROG"). */
export function binaryVariable(key: keyof QemuBinaries): string {
  return fromEnv[key][0];
}
