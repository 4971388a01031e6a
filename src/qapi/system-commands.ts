/**
 * The little blockcheck needs to know about qemu-system's own QMP commands, those that
 * qemu-storage-daemon does not have and so are not in src/qapi/generated/qmp-schema.ts. Read from
 * qemu-system-x86_64 7.2.22's introspection:
 *
 *   printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-qmp-schema"}' '{"execute":"quit"}' |
 *     qemu-system-x86_64 -M none -nodefaults -display none -qmp stdio
 *
 * A scenario reaches the 142 commands the daemon lacks only on qemu-system (`require io`).
 */

/**
 * Every command qemu-system-x86_64 7.2.22 has and the daemon lacks (query-commands, as above), so
 * that the model, standing in for qemu-system (`require io`), can tell one it does not implement
 * from one QEMU does not have: the first is the model's limit (E_MODEL_UNSUPPORTED), the second
 * QEMU's CommandNotFound.
 */
export const SYSTEM_ONLY_COMMANDS: ReadonlySet<string> = new Set([
  "add-fd", "add_client", "announce-self", "balloon", "block-latency-histogram-set",
  "block_set_io_throttle", "blockdev-change-medium", "blockdev-close-tray",
  "blockdev-insert-medium", "blockdev-open-tray", "blockdev-remove-medium", "calc-dirty-rate",
  "cancel-vcpu-dirty-limit", "change-vnc-password", "client_migrate_info", "closefd", "cont",
  "device-list-properties", "device_add", "device_del", "display-reload", "display-update",
  "dump-guest-memory", "dumpdtb", "eject", "expire_password", "getfd", "human-monitor-command",
  "inject-nmi", "input-send-event", "memsave", "migrate", "migrate-continue", "migrate-incoming",
  "migrate-pause", "migrate-recover", "migrate-set-capabilities", "migrate-set-parameters",
  "migrate-start-postcopy", "migrate_cancel", "netdev_add", "netdev_del", "pmemsave",
  "query-acpi-ospm-status", "query-balloon", "query-colo-status", "query-command-line-options",
  "query-cpu-definitions", "query-cpu-model-expansion", "query-cpus-fast", "query-current-machine",
  "query-dirty-rate", "query-display-options", "query-dump", "query-dump-guest-memory-capability",
  "query-fdsets", "query-hotpluggable-cpus", "query-iothreads", "query-kvm", "query-machines",
  "query-memdev", "query-memory-devices", "query-memory-size-summary", "query-mice",
  "query-migrate", "query-migrate-capabilities", "query-migrate-parameters", "query-name",
  "query-pci", "query-pr-managers", "query-replay", "query-rocker", "query-rocker-of-dpa-flows",
  "query-rocker-of-dpa-groups", "query-rocker-ports", "query-rx-filter", "query-sev",
  "query-sev-attestation-report", "query-sev-capabilities", "query-sev-launch-measure", "query-sgx",
  "query-sgx-capabilities", "query-spice", "query-stats", "query-stats-schemas", "query-status",
  "query-target", "query-tpm", "query-tpm-models", "query-tpm-types", "query-uuid",
  "query-vcpu-dirty-limit", "query-vm-generation-id", "query-vnc", "query-vnc-servers",
  "query-xen-replication-status", "query-yank", "remove-fd", "replay-break", "replay-delete-break",
  "replay-seek", "rtc-reset-reinjection", "screendump", "send-key", "set-action", "set-numa-node",
  "set-vcpu-dirty-limit", "set_link", "set_password", "sev-inject-launch-secret", "snapshot-delete",
  "snapshot-load", "snapshot-save", "stop", "system_powerdown", "system_reset", "system_wakeup",
  "trace-event-get-state", "trace-event-set-state", "watchdog-set-action", "x-colo-lost-heartbeat",
  "x-exit-preconfig", "x-query-irq", "x-query-jit", "x-query-numa", "x-query-opcount",
  "x-query-profile", "x-query-ramblock", "x-query-rdma", "x-query-roms", "x-query-usb",
  "x-query-virtio", "x-query-virtio-queue-element", "x-query-virtio-queue-status",
  "x-query-virtio-status", "x-query-virtio-vhost-queue-status", "xen-colo-do-checkpoint",
  "xen-load-devices-state", "xen-save-devices-state", "xen-set-global-dirty-log",
  "xen-set-replication", "yank",
]);

/**
 * Of those, the commands that take a host path: command → its path arguments (top-level string
 * members), each with the scheme that marks a path.
 */
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
