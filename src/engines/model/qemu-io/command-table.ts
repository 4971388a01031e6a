/**
 * qemu-io's command table as QEMU 7.2 registers it (qemu-io-cmds.c: each `cmdinfo_t`, sorted by
 * name as `qemuio_add_command` keeps it): names, argument counts, the permission each command makes
 * its BlockBackend take, and the text `help` prints. The model runs some of them (see commands.ts);
 * the table is whole, because `help` and argument checking know every command.
 */
import { BLK_PERM_RESIZE, BLK_PERM_WRITE } from "../perms.js";

/** `cmdinfo_t`. */
export interface CmdInfo {
  name: string;
  altname?: string;
  /** Shown in usage and help; absent when QEMU's is NULL (help then prints no argument part). */
  args?: string;
  oneline: string;
  argmin: number;
  /** -1: no maximum. */
  argmax: number;
  /** BLK_PERM_* the command adds to its BlockBackend's permissions before it runs. */
  perm: number;
  /** CMD_FLAG_GLOBAL (runs without a BlockBackend, help) or CMD_NOFILE_OK. */
  global?: boolean;
  /** The extended help (`ct->help()`), printed after the one-line form by `help NAME`. */
  help?: string;
}

export const CMD_TABLE: readonly CmdInfo[] = [
  {
    name: "abort",
    oneline: "simulate a program crash using abort(3)",
    argmin: 0,
    argmax: 0,
    perm: 0,
  },
  {
    name: "aio_flush",
    oneline: "completes all outstanding aio requests",
    argmin: 0,
    argmax: 0,
    perm: 0,
  },
  {
    name: "aio_read",
    args: "[-Ciqv] [-P pattern] off len [len..]",
    oneline: "asynchronously reads a number of bytes",
    argmin: 2,
    argmax: -1,
    perm: 0,
    help: "\n asynchronously reads a range of bytes from the given offset\n\n Example:\n 'aio_read -v 512 1k 1k ' - dumps 2 kilobytes read from 512 bytes into the file\n\n Reads a segment of the currently open file, optionally dumping it to the\n standard output stream (with -v option) for subsequent inspection.\n The read is performed asynchronously and the aio_flush command must be\n used to ensure all outstanding aio requests have been completed.\n Note that due to its asynchronous nature, this command will be\n considered successful once the request is submitted, independently\n of potential I/O errors or pattern mismatches.\n -C, -- report statistics in a machine parsable format\n -P, -- use a pattern to verify read data\n -i, -- treat request as invalid, for exercising stats\n -v, -- dump buffer to standard output\n -q, -- quiet mode, do not show I/O statistics\n\n",
  },
  {
    name: "aio_write",
    args: "[-Cfiquz] [-P pattern] off len [len..]",
    oneline: "asynchronously writes a number of bytes",
    argmin: 2,
    argmax: -1,
    perm: BLK_PERM_WRITE,
    help: "\n asynchronously writes a range of bytes from the given offset source\n from multiple buffers\n\n Example:\n 'aio_write 512 1k 1k' - writes 2 kilobytes at 512 bytes into the open file\n\n Writes into a segment of the currently open file, using a buffer\n filled with a set pattern (0xcdcdcdcd).\n The write is performed asynchronously and the aio_flush command must be\n used to ensure all outstanding aio requests have been completed.\n Note that due to its asynchronous nature, this command will be\n considered successful once the request is submitted, independently\n of potential I/O errors or pattern mismatches.\n -P, -- use different pattern to fill file\n -C, -- report statistics in a machine parsable format\n -f, -- use Force Unit Access semantics\n -i, -- treat request as invalid, for exercising stats\n -q, -- quiet mode, do not show I/O statistics\n -u, -- with -z, allow unmapping\n -z, -- write zeroes using blk_aio_pwrite_zeroes\n\n",
  },
  {
    name: "alloc",
    altname: "a",
    args: "offset [count]",
    oneline: "checks if offset is allocated in the file",
    argmin: 1,
    argmax: 2,
    perm: 0,
  },
  {
    name: "break",
    args: "event tag",
    oneline: "sets a breakpoint on event and tags the stopped request as tag",
    argmin: 2,
    argmax: 2,
    perm: 0,
  },
  {
    name: "discard",
    altname: "d",
    args: "[-Cq] off len",
    oneline: "discards a number of bytes at a specified offset",
    argmin: 2,
    argmax: -1,
    perm: BLK_PERM_WRITE,
    help: "\n discards a range of bytes from the given offset\n\n Example:\n 'discard 512 1k' - discards 1 kilobyte from 512 bytes into the file\n\n Discards a segment of the currently open file.\n -C, -- report statistics in a machine parsable format\n -q, -- quiet mode, do not show I/O statistics\n\n",
  },
  {
    name: "flush",
    altname: "f",
    oneline: "flush all in-core file state to disk",
    argmin: 0,
    argmax: 0,
    perm: 0,
  },
  {
    name: "help",
    altname: "?",
    args: "[command]",
    oneline: "help for one or all commands",
    argmin: 0,
    argmax: 1,
    perm: 0,
    global: true,
  },
  {
    name: "info",
    altname: "i",
    oneline: "prints information about the current file",
    argmin: 0,
    argmax: 0,
    perm: 0,
  },
  {
    name: "length",
    altname: "l",
    oneline: "gets the length of the current file",
    argmin: 0,
    argmax: 0,
    perm: 0,
  },
  {
    name: "map",
    args: "",
    oneline: "prints the allocated areas of a file",
    argmin: 0,
    argmax: 0,
    perm: 0,
  },
  {
    name: "read",
    altname: "r",
    args: "[-abCqv] [-P pattern [-s off] [-l len]] off len",
    oneline: "reads a number of bytes at a specified offset",
    argmin: 2,
    argmax: -1,
    perm: 0,
    help: "\n reads a range of bytes from the given offset\n\n Example:\n 'read -v 512 1k' - dumps 1 kilobyte read from 512 bytes into the file\n\n Reads a segment of the currently open file, optionally dumping it to the\n standard output stream (with -v option) for subsequent inspection.\n -b, -- read from the VM state rather than the virtual disk\n -C, -- report statistics in a machine parsable format\n -l, -- length for pattern verification (only with -P)\n -p, -- ignored for backwards compatibility\n -P, -- use a pattern to verify read data\n -q, -- quiet mode, do not show I/O statistics\n -s, -- start offset for pattern verification (only with -P)\n -v, -- dump buffer to standard output\n\n",
  },
  {
    name: "readv",
    args: "[-Cqv] [-P pattern] off len [len..]",
    oneline: "reads a number of bytes at a specified offset",
    argmin: 2,
    argmax: -1,
    perm: 0,
    help: "\n reads a range of bytes from the given offset into multiple buffers\n\n Example:\n 'readv -v 512 1k 1k ' - dumps 2 kilobytes read from 512 bytes into the file\n\n Reads a segment of the currently open file, optionally dumping it to the\n standard output stream (with -v option) for subsequent inspection.\n Uses multiple iovec buffers if more than one byte range is specified.\n -C, -- report statistics in a machine parsable format\n -P, -- use a pattern to verify read data\n -v, -- dump buffer to standard output\n -q, -- quiet mode, do not show I/O statistics\n\n",
  },
  {
    name: "remove_break",
    args: "tag",
    oneline: "remove a breakpoint by tag",
    argmin: 1,
    argmax: 1,
    perm: 0,
  },
  {
    name: "reopen",
    args: "[(-r|-w)] [-c cache] [-o options]",
    oneline: "reopens an image with new options",
    argmin: 0,
    argmax: -1,
    perm: 0,
    help: "\n Changes the open options of an already opened image\n\n Example:\n 'reopen -o lazy-refcounts=on' - activates lazy refcount writeback on a qcow2 image\n\n -r, -- Reopen the image read-only\n -w, -- Reopen the image read-write\n -c, -- Change the cache mode to the given value\n -o, -- Changes block driver options (cf. 'open' command)\n\n",
  },
  {
    name: "resume",
    args: "tag",
    oneline: "resumes the request tagged as tag",
    argmin: 1,
    argmax: 1,
    perm: 0,
  },
  {
    name: "sigraise",
    args: "signal",
    oneline: "raises a signal",
    argmin: 1,
    argmax: 1,
    perm: 0,
    help: "\n raises the given signal\n\n Example:\n 'sigraise 15' - raises SIGTERM\n\n Invokes raise(signal), where \"signal\" is the mandatory integer argument\n given to sigraise.\n\n",
  },
  {
    name: "sleep",
    oneline: "waits for the given value in milliseconds",
    argmin: 1,
    argmax: 1,
    perm: 0,
  },
  {
    name: "truncate",
    altname: "t",
    args: "[-m prealloc_mode] off",
    oneline: "truncates the current file at the given offset",
    argmin: 1,
    argmax: 3,
    perm: BLK_PERM_WRITE | BLK_PERM_RESIZE,
  },
  {
    name: "wait_break",
    args: "tag",
    oneline: "waits for the suspension of a request",
    argmin: 1,
    argmax: 1,
    perm: 0,
  },
  {
    name: "write",
    altname: "w",
    args: "[-bcCfnquz] [-P pattern | -s source_file] off len",
    oneline: "writes a number of bytes at a specified offset",
    argmin: 2,
    argmax: -1,
    perm: BLK_PERM_WRITE,
    help: "\n writes a range of bytes from the given offset\n\n Example:\n 'write 512 1k' - writes 1 kilobyte at 512 bytes into the open file\n\n Writes into a segment of the currently open file, using a buffer\n filled with a set pattern (0xcdcdcdcd).\n -b, -- write to the VM state rather than the virtual disk\n -c, -- write compressed data with blk_write_compressed\n -f, -- use Force Unit Access semantics\n -n, -- with -z, don't allow slow fallback\n -p, -- ignored for backwards compatibility\n -P, -- use different pattern to fill file\n -s, -- use a pattern file to fill the write buffer\n -C, -- report statistics in a machine parsable format\n -q, -- quiet mode, do not show I/O statistics\n -u, -- with -z, allow unmapping\n -z, -- write zeroes using blk_co_pwrite_zeroes\n\n",
  },
  {
    name: "writev",
    args: "[-Cfq] [-P pattern] off len [len..]",
    oneline: "writes a number of bytes at a specified offset",
    argmin: 2,
    argmax: -1,
    perm: BLK_PERM_WRITE,
    help: "\n writes a range of bytes from the given offset source from multiple buffers\n\n Example:\n 'writev 512 1k 1k' - writes 2 kilobytes at 512 bytes into the open file\n\n Writes into a segment of the currently open file, using a buffer\n filled with a set pattern (0xcdcdcdcd).\n -P, -- use different pattern to fill file\n -C, -- report statistics in a machine parsable format\n -f, -- use Force Unit Access semantics\n -q, -- quiet mode, do not show I/O statistics\n\n",
  },
];

/** `find_command`: by name or alternative name. */
export function findCommand(name: string): CmdInfo | undefined {
  return CMD_TABLE.find((c) => c.name === name || c.altname === name);
}
