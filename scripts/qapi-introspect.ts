/**
 * Ask a qemu-storage-daemon for its QAPI introspection over a stdio monitor: greeting, capabilities,
 * `query-qmp-schema`, `quit`. The daemon is always gone when this returns.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";

/** The daemon's version ("7.2.22") and its `query-qmp-schema` array. */
export async function fetchIntrospection(
  qsd: string,
): Promise<{ version: string; entries: { name: string; "meta-type": string; [k: string]: unknown }[] }> {
  const input = ['{"execute":"qmp_capabilities"}', '{"execute":"query-qmp-schema"}', '{"execute":"quit"}', ""].join("\n");
  const { stdout } = await execa(qsd, ["--chardev", "stdio,id=m", "--monitor", "m"], { input, timeout: 20_000 });
  const lines = stdout.split(/\r?\n/).filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, any>);
  const greeting = lines[0]?.QMP?.version?.qemu;
  const schema = lines.find((l) => Array.isArray(l.return));
  if (!greeting || !schema) throw new Error(`${qsd} did not answer query-qmp-schema:\n${stdout.slice(0, 2000)}`);
  return { version: `${greeting.major}.${greeting.minor}.${greeting.micro}`, entries: schema.return };
}

/**
 * Send requests to a fresh daemon (after negotiation, in a private temporary directory) and return
 * each reply's error text, or undefined for a success.
 */
export async function askQsd(qsd: string, requests: unknown[]): Promise<(string | undefined)[]> {
  const dir = await mkdtemp(path.join(tmpdir(), "blockcheck-probe-"));
  try {
    const input = ['{"execute":"qmp_capabilities"}', ...requests.map((r) => JSON.stringify(r)), '{"execute":"quit"}', ""].join("\n");
    const { stdout } = await execa(qsd, ["--chardev", "stdio,id=m", "--monitor", "m"], { input, cwd: dir, timeout: 60_000 });
    const replies = stdout.split(/\r?\n/).filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, any>);
    const answers = replies.filter((r) => "return" in r || "error" in r).slice(1, 1 + requests.length);
    if (answers.length !== requests.length) throw new Error(`${qsd} answered ${answers.length} of ${requests.length} probes`);
    return answers.map((r) => (r.error ? String(r.error.desc) : undefined));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
