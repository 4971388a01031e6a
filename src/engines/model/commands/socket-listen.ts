/**
 * `socket_listen` (util/qemu-sockets.c) for nbd-server-start's address, as far as its outcome does
 * not depend on the host: UNIX sockets (unix-listen.ts); a file descriptor, which no scenario can
 * pass (the daemon's monitor_get_fd is a stub, qemu-system's finds no fd of that name); and TCP on
 * literal addresses or `localhost` (RFC 6761: loopback, either family) with an ephemeral port.
 * Other host names (resolved by the host's resolver), service
 * names, fixed ports (free or not), addresses other than loopback and the wildcard, vsock and
 * MPTCP are the host's answer, which the model does not guess.
 */
import { isIPv4, isIPv6 } from "node:net";
import type { LayerState } from "../layer-state.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { fail } from "../qmp-failure.js";
import { unixListen } from "./unix-listen.js";

type Family = "unspec" | "inet" | "inet6";

export function socketListen(state: LayerState, addr: Record<string, unknown>): void {
  const data = (addr["data"] ?? {}) as Record<string, unknown>;
  switch (addr["type"]) {
    case "unix":
      return unixListen(state.hostFiles, state.workdir, String(data["path"]), data["abstract"] === true);
    case "fd":
      // socket_get_fd: the QMP monitor's fds are those `getfd` passed over the socket, none here.
      return fail(state.qemuSystem ? `File descriptor named '${String(data["str"])}' has not been found` : "only QEMU supports file descriptor passing");
    case "inet":
      return inetListen(data);
    default:
      throw new ModelUnsupportedError(`nbd-server-start on a ${String(addr["type"])} address (whether it binds depends on the host)`);
  }
}

/** inet_listen_saddr, up to getaddrinfo's answer for literal addresses; the bind only where it cannot fail. */
function inetListen(data: Record<string, unknown>): void {
  const host = String(data["host"]);
  const port = String(data["port"]);
  const family = aiFamily(data["ipv4"], data["ipv6"], host);
  const unknown = (what: string) => new ModelUnsupportedError(`nbd-server-start on ${what} (the host's answer)`);
  if (data["mptcp"] === true) throw unknown("an MPTCP socket");
  if (port !== "" && !/^\d+$/.test(port)) throw unknown(`the service '${port}'`);
  const literal = host === "" || host === "localhost" ? "any" : isIPv4(host) ? "inet" : isIPv6(host) ? "inet6" : undefined;
  if (!literal) throw unknown(`the host name '${host}'`);
  // getaddrinfo(NULL, NULL): nothing to look up.
  if (host === "" && port === "") fail(`address resolution failed for ${host}:${port}: Name or service not known`);
  if (literal !== "any" && family !== "unspec" && family !== literal) {
    fail(`address resolution failed for ${host}:${port}: Address family for hostname not supported`);
  }
  if (port !== "" && Number(port) !== 0) throw unknown(`the fixed port ${port}`);
  if (!["", "localhost", "0.0.0.0", "::", "::1"].includes(host) && !host.startsWith("127.")) throw unknown(`the address ${host}`);
}

/** inet_ai_family_from_address: the ipv4/ipv6 flags as getaddrinfo's family, or its error. */
function aiFamily(ipv4: unknown, ipv6: unknown, host: string): Family {
  const has4 = typeof ipv4 === "boolean";
  const has6 = typeof ipv6 === "boolean";
  if (has4 && has6 && !ipv4 && !ipv6) fail("Cannot disable IPv4 and IPv6 at same time");
  if (ipv6 === true && ipv4 === true) return host === "" ? "inet6" : "unspec";
  if (ipv6 === true || ipv4 === false) return "inet6";
  if (ipv4 === true || ipv6 === false) return "inet";
  return "unspec";
}
