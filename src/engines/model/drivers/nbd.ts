/**
 * `nbd` as a client (block/nbd.c `nbd_open`), of what a scenario can reach: a UNIX socket in its
 * scratch directory. The only NBD server there is the process's own (nbd-server-start), and QEMU 7.2
 * cannot be a client of itself: the connection thread connects, then waits for the server's greeting,
 * while blockdev-add polls only the block layer's AioContext and the server's listener, a main-loop
 * source, never accepts. blockdev-add hangs — or, with `open-timeout`, fails when the timer fires.
 * Any other path is refused by connect(2). So no nbd node ever opens here, and the model has no
 * data path for one.
 */
import { lookupPath, type WalkErrno } from "../data/path-walk.js";
import { ModelIoUnsupportedError } from "../data/io-error.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { fail } from "../qmp-failure.js";
import type { DriverDef, OpenContext } from "./driver.js";

/** NBD_MAX_STRING_SIZE: the longest export name or metadata context query a client sends. */
const NBD_MAX_STRING_SIZE = 4096;
/** sizeof(struct sockaddr_un.sun_path) on Linux. */
const SUN_PATH_SIZE = 108;
const CONNECT_ERRORS = { ENOENT: "No such file or directory", ENOTDIR: "Not a directory", ENAMETOOLONG: "File name too long", ECONNREFUSED: "Connection refused" } as const;

/** What connect(2) to a UNIX socket path finds there. */
function socketAt(ctx: OpenContext, path: string): WalkErrno | "ECONNREFUSED" | "socket" {
  const found = lookupPath(ctx.host.hostFiles, ctx.workdir, path);
  return found === "file" || found === "directory" ? "ECONNREFUSED" : found;
}

/**
 * What `nbd_parse_filename` says of a file name it refuses, or undefined for an NBD name (a URI,
 * `nbd:…`), which the model does not parse.
 */
export function nbdFilenameRefusal(filename: string): string | undefined {
  if (filename.includes("://") || filename.includes(":exportname=")) return undefined;
  return filename.startsWith("nbd:") ? undefined : "File name string for NBD must start with 'nbd:'";
}

export const nbdDriver: DriverDef = {
  name: "nbd",
  protocol: true,
  isFilter: false,
  supportsBacking: false,
  // QEMU's NBD server offers NBD_FLAG_SEND_FUA, so nbd_client_handshake sets both.
  fua: { write: "own", zero: "own" },
  mutableOpts: [],

  /** `nbd_parse_filename`: only the refusal of a name that is no NBD one is modelled. */
  parseFilename(filename) {
    const refusal = nbdFilenameRefusal(filename);
    if (refusal === undefined) throw new ModelUnsupportedError(`an nbd node opened from the file name '${filename}'`);
    fail(refusal);
  },

  /** `nbd_open`: the options (nbd_process_options), then the first connection. */
  open(ctx) {
    const o = ctx.options;
    // nbd_process_options: the strings it would send are checked before anything connects.
    const exportName = o["export"];
    if (typeof exportName === "string" && Buffer.byteLength(exportName) > NBD_MAX_STRING_SIZE) fail("export name too long to send to server");
    const tls = o["tls-creds"];
    if (typeof tls === "string") {
      // nbd_get_tls_creds: only a tls-creds object would do, and none can make a connection here.
      if (!ctx.host.objectExists(tls)) fail(`No TLS credentials with id '${tls}'`);
      throw new ModelIoUnsupportedError("an nbd client with TLS credentials");
    }
    const bitmap = o["x-dirty-bitmap"];
    if (typeof bitmap === "string" && Buffer.byteLength(bitmap) > NBD_MAX_STRING_SIZE) fail("x-dirty-bitmap query too long to send to server");
    if (o["server.type"] !== "unix" || typeof o["server.path"] !== "string") {
      throw new ModelIoUnsupportedError("an nbd client of a server outside the scratch directory (inet, vsock or fd addresses)");
    }
    const path = o["server.path"];
    // unix_connect_saddr, before it connects (an abstract name leaves room for its leading NUL).
    const length = Buffer.byteLength(path);
    if (length > SUN_PATH_SIZE || (o["server.abstract"] === true && length > SUN_PATH_SIZE - 1)) fail(`UNIX socket path '${path}' is too long`);
    const abstract = o["server.abstract"] === true;
    const openTimeout = Number(o["open-timeout"] ?? 0);
    if ((abstract ? `\0${path}` : ctx.resolvePath(path)) === ctx.host.nbdServerSocket) {
      // open_timer_cb cancels the connection wait after open-timeout seconds (which the model does not let pass).
      if (openTimeout > 0) fail("Connection attempt cancelled by timeout");
      throw new ModelIoUnsupportedError("an nbd client of the process's own NBD server (QEMU 7.2 waits for ever in blockdev-add)");
    }
    // An abstract name no one listens on is refused; a path is looked up as the kernel does.
    const found = abstract ? "ECONNREFUSED" : socketAt(ctx, path);
    if (found === "socket") throw new ModelIoUnsupportedError("an nbd client of a socket the model did not make");
    // nbd_establish_connection → socket_connect: connect(2)'s error (with open-timeout, the last of its retries).
    fail(`Failed to connect to '${path}': ${CONNECT_ERRORS[found]}`);
  },
};
