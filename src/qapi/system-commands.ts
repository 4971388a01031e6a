/**
 * The little blockcheck needs to know about qemu-system's own QMP commands, those that
 * qemu-storage-daemon does not have and so are not in src/qapi/generated/qmp-schema.ts. Read from
 * qemu-system-x86_64 7.2.22's introspection:
 *
 *   printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-qmp-schema"}' '{"execute":"quit"}' |
 *     qemu-system-x86_64 -M none -nodefaults -display none -qmp stdio
 *
 * Of its 142 commands the daemon lacks, only those that take a host path or run a program are
 * listed; the rest take neither. A scenario reaches them only on qemu-system (`require io`).
 */

/** Command → its path arguments (top-level string members), each with the scheme that marks a path. */
export const SYSTEM_PATH_ARGUMENTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  "blockdev-change-medium": { filename: "" },
  screendump: { filename: "" },
  memsave: { filename: "" },
  pmemsave: { filename: "" },
  dumpdtb: { filename: "" },
  "xen-save-devices-state": { filename: "" },
  "xen-load-devices-state": { filename: "" },
  "dump-guest-memory": { protocol: "file:" },
  migrate: { uri: "unix:" },
  "migrate-incoming": { uri: "unix:" },
  "migrate-recover": { uri: "unix:" },
};

/**
 * Why running `command` with `args` is unsafe — it runs a program on the host, or takes free text
 * that can name any file — or undefined when it is not.
 */
export function unsafeReason(command: string, args: unknown): string | undefined {
  switch (command) {
    case "human-monitor-command":
      return "its command line is free text for HMP, which can run programs (migrate \"exec:…\") and open or create files anywhere";
    case "netdev_add":
      return "tap and bridge netdevs run scripts and helpers, user netdevs run smbd";
    case "migrate":
    case "migrate-incoming":
    case "migrate-recover": {
      const uri = typeof args === "object" && args !== null ? (args as Record<string, unknown>).uri : undefined;
      return typeof uri === "string" && uri.startsWith("exec:") ? `a migration uri 'exec:…' runs a shell command` : undefined;
    }
    default:
      return undefined;
  }
}
