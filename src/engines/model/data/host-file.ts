/**
 * The data of one host file, shared by every node that opens it in one engine (file-posix nodes on
 * the same path see each other's writes at once, as two file descriptors on one file do).
 *
 * What the model wrote lives in an ExtentMap, fills as fills; what it never wrote is read from the
 * file on disk. Every write also goes to disk at once, so the image files are at every moment what
 * QEMU would leave: `qemu-img check` and real QEMU can read them after (or during) a model run.
 * Something else rewriting the file (an `image` step creating it again) is noticed by its stat
 * signature, and what the model remembered of the old file is dropped.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, statSync, writeSync } from "node:fs";
import { Data } from "./data.js";
import { ExtentMap } from "./extent-map.js";
import { Errno, ioFail } from "./io-error.js";

/** Pattern data goes to disk in pieces of this size. */
const WRITE_CHUNK = 1 << 20;

/** What identifies one version of the file on disk. */
function signature(path: string): string | null {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return null;
  }
}

export class HostFile {
  #written = new ExtentMap();
  #length: number | undefined;
  #signature: string | null = null;

  constructor(readonly path: string) {}

  /** Drop what the model remembers if the file on disk is no longer the one it last wrote. */
  #sync(): void {
    const now = signature(this.path);
    if (this.#length !== undefined && now === this.#signature) return;
    this.#written = new ExtentMap();
    this.#length = now === null ? 0 : Number(statSync(this.path).size);
    this.#signature = now;
  }

  #open(flags: "r" | "r+"): number {
    try {
      return openSync(this.path, flags);
    } catch {
      return ioFail(flags === "r" ? Errno.EIO : Errno.EACCES);
    }
  }

  /** The file's length in bytes. */
  get length(): number {
    this.#sync();
    return this.#length!;
  }

  /** Extents the model holds for this file (benchmarks and tests). */
  get extentCount(): number {
    return this.#written.size;
  }

  /** `pread`: bytes past the end read as zeros (file-posix pads a short read with zeros). */
  read(offset: number, length: number): Data {
    this.#sync();
    const parts: Data[] = [];
    let fd: number | undefined;
    try {
      for (const piece of this.#written.read(offset, length)) {
        if (piece.data) {
          parts.push(piece.data);
          continue;
        }
        const onDisk = Math.max(0, Math.min(piece.length, this.#length! - piece.offset));
        if (onDisk > 0) {
          fd ??= this.#open("r");
          const buf = Buffer.alloc(onDisk);
          let done = 0;
          while (done < onDisk) {
            const n = readSync(fd, buf, done, onDisk - done, piece.offset + done);
            if (n === 0) break;
            done += n;
          }
          parts.push(Data.bytes(buf));
        }
        if (onDisk < piece.length) parts.push(Data.zeros(piece.length - onDisk));
      }
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    return Data.concat(parts);
  }

  /** `pwrite`: remembered, and written to disk; the file grows to cover it. */
  write(offset: number, data: Data): void {
    if (data.length === 0) return;
    this.#sync();
    const fd = this.#open("r+");
    try {
      let pos = offset;
      for (const s of data.resolveUntouched(0).segments) {
        if (s.kind === "bytes") {
          writeSync(fd, s.bytes, 0, s.bytes.length, pos);
          pos += s.bytes.length;
          continue;
        }
        const chunk = Buffer.alloc(Math.min(s.length, WRITE_CHUNK), s.kind === "fill" ? s.byte : 0);
        for (let done = 0; done < s.length; done += chunk.length) {
          const n = Math.min(chunk.length, s.length - done);
          writeSync(fd, chunk, 0, n, pos + done);
        }
        pos += s.length;
      }
      this.#length = Number(fstatSync(fd).size);
    } finally {
      closeSync(fd);
    }
    this.#written.write(offset, data);
    this.#signature = signature(this.path);
  }

  /** `ftruncate`. */
  truncate(length: number): void {
    this.#sync();
    const fd = this.#open("r+");
    try {
      ftruncateSync(fd, length);
    } finally {
      closeSync(fd);
    }
    this.#written.truncate(length);
    this.#length = length;
    this.#signature = signature(this.path);
  }

  /** `st_blocks * 512`: what the file system allocated to the file (0 when it is gone). */
  allocatedBytes(): number {
    try {
      return Number(statSync(this.path).blocks) * 512;
    } catch {
      return 0;
    }
  }
}

/** Every host file one engine's nodes have done I/O on, by absolute path. */
export class HostFiles {
  readonly #files = new Map<string, HostFile>();

  /** The data of the file at `absPath` (created on first use). */
  get(absPath: string): HostFile {
    let f = this.#files.get(absPath);
    if (!f) this.#files.set(absPath, (f = new HostFile(absPath)));
    return f;
  }
}
