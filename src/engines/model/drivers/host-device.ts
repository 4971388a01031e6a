/**
 * `host_device` and `host_cdrom` (block/file-posix.c `hdev_open`, `cdrom_open`): file-posix on a
 * block or character device. raw_open_common opens the file, then refuses anything that is not a
 * device — and a scenario's scratch directory holds only regular files and directories, so every
 * open ends in one of raw_open_common's errors.
 */
import { statSync } from "node:fs";
import type { HostFiles } from "../data/host-file.js";
import { ModelIoUnsupportedError } from "../data/io-error.js";
import { fail } from "../qmp-failure.js";
import type { DriverDef } from "./driver.js";

/** `qemu_open`'s errors, as raw_open_common reports them ("Could not open '%s'"). */
const OPEN_ERRNO: Record<string, string> = {
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  ENOTDIR: "Not a directory",
  EISDIR: "Is a directory",
};

/** What is at the path: the model's own files and directories first (they may be only in memory), then the disk. */
function fileKind(files: HostFiles, absPath: string, filename: string): "file" | "directory" | "device" {
  const entry = files.entry(absPath);
  if (entry.kind !== "disk") return entry.kind;
  let st;
  try {
    st = statSync(absPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    return fail(`Could not open '${filename}': ${OPEN_ERRNO[code] ?? "Input/output error"}`);
  }
  if (st.isDirectory()) return "directory";
  return st.isCharacterDevice() || st.isBlockDevice() ? "device" : "file";
}

function deviceDriver(name: "host_device" | "host_cdrom"): DriverDef {
  return {
    name,
    protocol: true,
    isFilter: false,
    supportsBacking: false,
    mutableOpts: [],

    /** `hdev_parse_filename` / `cdrom_parse_filename`: the "NAME:" prefix goes, the name stays. */
    parseFilename(filename, options) {
      const prefix = `${name}:`;
      if (filename.startsWith(prefix)) options["filename"] = filename.slice(prefix.length);
    },

    /** raw_open_common with device=true: open (read-write unless read-only), fstat, then the device check. */
    open(ctx) {
      const filename = String(ctx.options["filename"]);
      const absPath = ctx.resolvePath(filename);
      const kind = fileKind(ctx.host.hostFiles, absPath, filename);
      // open(2) of a directory for writing is EISDIR; read-only it opens and fails the check below.
      if (kind === "directory" && !ctx.node.readOnly) fail(`Could not open '${filename}': Is a directory`);
      if (kind !== "device") fail(`'${name}' driver requires '${filename}' to be either a character or block device`);
      // A device in the scratch directory cannot be made by a scenario; QEMU would go on to ioctls the model does not follow.
      throw new ModelIoUnsupportedError(`a '${name}' node on a device`);
    },
  };
}

export const hostDeviceDriver = deviceDriver("host_device");
export const hostCdromDriver = deviceDriver("host_cdrom");
