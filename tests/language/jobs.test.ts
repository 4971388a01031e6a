/** Block job statements: how they parse, and what the checker says about job ids, states and options. */
import { describe, expect, it } from "vitest";
import { loadScenario } from "../../src/language/index.js";
import { only, problems } from "./helpers.js";

const CHAIN = [
  "require jobs",
  "image base.qcow2 qcow2 1M",
  "image top.qcow2 qcow2 1M",
  "add base: qcow2 file=(file filename=base.qcow2)",
  "add top: qcow2 file=(file filename=top.qcow2) backing=base",
].join("\n");

/** Problems of CHAIN followed by `lines`, with line numbers counted from the first of `lines`. */
function after(...lines: string[]): string[] {
  const offset = CHAIN.split("\n").length;
  return problems(`${CHAIN}\n${lines.join("\n")}`).map((p) => p.replace(/^(\d+)/, (n) => String(Number(n) - offset)));
}

describe("parsing job statements", () => {
  it("job TYPE ID NODE options", () => {
    const s = only("job stream j0 top/backing base-node=b0 auto-finalize=off", "job");
    expect(s.jobType).toBe("stream");
    expect(s.id.name).toBe("j0");
    expect(s.node).toMatchObject({ root: "top", path: ["backing"] });
    expect(s.options.map((o) => [o.key, o.value.type])).toEqual([
      ["base-node", "word"],
      ["auto-finalize", "bool"],
    ]);
  });

  it("job VERB ID options, with an expectation", () => {
    const s = only('job cancel j0 force=on -> error "x"', "job-verb");
    expect([s.verb, s.id.name, s.options.map((o) => o.key), s.expectation?.type]).toEqual(["cancel", "j0", ["force"], "error"]);
  });

  it("wait for a status, and wait for an event with members to match", () => {
    expect(only("wait j0 pending", "wait").target).toMatchObject({ kind: "job", id: { name: "j0" }, status: { name: "pending" } });
    const e = only("wait event BLOCK_JOB_READY device=j0 len=1M", "wait").target;
    expect(e.kind === "event" && [e.name.name, e.match.map((o) => o.key)]).toEqual(["BLOCK_JOB_READY", ["device", "len"]]);
  });

  it("a job called 'event' is still waited for: an event name is in capitals", () => {
    expect(only("wait event ready", "wait").target).toMatchObject({ kind: "job", id: { name: "event" }, status: { name: "ready" } });
  });

  it("expect job and expect frozen", () => {
    expect(only("expect job j0 status=pending offset=1M", "expect").assertion).toMatchObject({ kind: "job", id: { name: "j0" } });
    expect(only("expect frozen hd0 -backing-> hd1", "expect").assertion).toMatchObject({
      kind: "frozen",
      edge: { parent: { text: "hd0" }, name: { name: "backing" }, child: { text: "hd1" } },
    });
  });

  it("a misspelt job type, or an option where the node goes, is a syntax error there", () => {
    const d = loadScenario("job strem j0 hd0\njob stream j0 base-node=x", "t.scn").diagnostics;
    expect(d.map((x) => [`${x.location.start.line}:${x.location.start.column} ${x.message}`, x.notes])).toEqual([
      ["1:5 unexpected 'strem'", ["expected 'stream', 'commit', 'mirror', 'backup', 'finalize', 'complete', 'cancel', 'pause', 'resume' or 'dismiss'"]],
      ["2:15 unexpected 'base-node'", ["expected node name (the job's device)"]],
    ]);
  });
});

describe("job ids and their lifetimes", () => {
  it("a whole job's life has no problems", () => {
    expect(after("job stream j0 top auto-finalize=off auto-dismiss=off", "wait j0 pending", "expect job j0 status=pending", "job finalize j0", "expect job j0 status=concluded", "job dismiss j0", "wait j0 null", "expect job j0 status=null")).toEqual([]);
  });

  it("an unknown id, with did-you-mean; a statement written to fail may name one", () => {
    expect(after("job stream j0 top auto-finalize=off", "wait jo pending", 'job pause nosuch -> error "Block job \'nosuch\' not found"')).toEqual(["2:6 unknown job 'jo'"]);
    expect(loadScenario(`${CHAIN}\njob stream j0 top\nwait jo null`, "t.scn").diagnostics[0]!.notes).toEqual(["did you mean 'j0'?"]);
  });

  it("an id used before the job that has it is started", () => {
    const d = loadScenario(`${CHAIN}\nwait j0 null\njob stream j0 top\nwait j0 null`, "t.scn").diagnostics;
    expect(d.map((x) => [x.message, x.notes])).toEqual([["job 'j0' is used before it is started", ["started at line 7"]]]);
  });

  it("an id used after its job ended: dismissed, finalized with auto-dismiss, waited gone", () => {
    expect(after("job stream j0 top auto-finalize=off auto-dismiss=off", "wait j0 pending", "job finalize j0", "job dismiss j0", "expect job j0 type=stream")).toEqual([
      "5:12 job 'j0' is used after it ended",
    ]);
    expect(after("job stream j0 top auto-finalize=off", "wait j0 pending", "job finalize j0", "wait j0 null", "job dismiss j0")).toEqual([
      "5:13 job 'j0' is used after it ended",
    ]);
    const d = loadScenario(`${CHAIN}\njob stream j0 top\nwait j0 null\nexpect job j0 type=stream`, "t.scn").diagnostics;
    expect(d.map((x) => x.notes)).toEqual([["gone after 'wait j0 null' at line 7"]]);
  });

  it("a duplicate id while the first job lives; reused once it is gone", () => {
    expect(after("job stream j0 top auto-finalize=off", "job commit j0 top")).toEqual(["2:12 duplicate job id 'j0'"]);
    expect(after("job stream j0 top", "wait j0 null", "job stream j0 top", "wait j0 null")).toEqual([]);
    expect(after("job stream j0 top auto-finalize=off", "job commit j0 top -> error \"Job ID 'j0' already in use\"")).toEqual([]);
    // block-job-dismiss sent with qmp ends a block job as `job dismiss` does.
    const held = ["job stream j0 top auto-dismiss=off", "wait j0 concluded"];
    expect(after(...held, 'qmp block-job-dismiss {"id": "j0"}', "job stream j0 top", "wait j0 null")).toEqual([]);
    expect(after(...held, 'qmp job-dismiss {"id": "j0"}', "job stream j0 top", "wait j0 null")).toEqual([]);
    expect(after(...held, 'qmp block-job-dismiss {"id": "j0"} -> error "x"', "job stream j0 top")).toEqual(["4:12 duplicate job id 'j0'"]);
  });

  it("a verb or expect job before a wait has settled the job's state", () => {
    expect(after("job mirror m0 top target=base sync=full", "job complete m0", "wait m0 ready", "job pause m0", "expect job m0 status=standby")).toEqual([
      "2:14 the state of job 'm0' is not known here: wait for one first",
      "5:12 the state of job 'm0' is not known here: wait for one first",
    ]);
  });

  it("BLOCK_JOB_READY and BLOCK_JOB_PENDING settle the job they name", () => {
    expect(after("job mirror m0 top target=base sync=full", "wait event BLOCK_JOB_READY device=m0", "job complete m0", "wait m0 null")).toEqual([]);
  });

  it("a backup with sync=none runs until cancelled: its state is known from the start", () => {
    expect(after("job backup b0 top target=base sync=none", "expect job b0 status=running", "job cancel b0", "wait b0 null")).toEqual([]);
    expect(after("job backup b0 top target=base sync=none", "job pause b0", "wait b0 paused", "job resume b0", "expect job b0 status=running", "job cancel b0", "wait b0 null")).toEqual([]);
    expect(after("job backup b0 top target=base sync=full", "job cancel b0", "wait b0 null")).toEqual(["2:12 the state of job 'b0' is not known here: wait for one first"]);
  });

  it("show graph, nodes or node before a wait has settled a job: its edges and end race with it", () => {
    expect(after("job backup b0 top target=base sync=full", "show graph", "wait b0 null", "show graph")).toEqual([
      "2:1 the graph shows job 'b0' while its state is not known here: wait for one first",
    ]);
    expect(after("job stream s0 top", "show nodes", "show node top")).toEqual([
      "2:1 the graph shows job 's0' while its state is not known here: wait for one first",
      "3:1 the graph shows job 's0' while its state is not known here: wait for one first",
    ]);
    expect(after("job backup b0 top target=base sync=none", "show graph", "job cancel b0", "show graph", "wait b0 null")).toEqual([
      "4:1 the graph shows job 'b0' while its state is not known here: wait for one first",
    ]);
  });

  it("expectations on the graph before a wait has settled a job race with it as show does", () => {
    expect(after("job stream s0 top", "expect frozen top -backing-> base", "expect ro base", "expect gone top/backing", "wait s0 null", "expect gone top/backing")).toEqual([
      "2:1 the graph is checked with job 's0' while its state is not known here: wait for one first",
      "3:1 the graph is checked with job 's0' while its state is not known here: wait for one first",
      "4:1 the graph is checked with job 's0' while its state is not known here: wait for one first",
    ]);
    expect(after("job backup b0 top target=base sync=full", "expect node base ro=false", "expect edge top -backing-> base", "expect context top main", "wait b0 null")).toEqual([
      "2:1 the graph is checked with job 'b0' while its state is not known here: wait for one first",
      "3:1 the graph is checked with job 'b0' while its state is not known here: wait for one first",
      "4:1 the graph is checked with job 'b0' while its state is not known here: wait for one first",
    ]);
    // A backup with sync=none stays running: its filter is there from the start.
    expect(after("job backup b0 top target=base sync=none", "expect exists top", "job cancel b0", "wait b0 null")).toEqual([]);
  });

  it("a job's BLOCK_JOB_COMPLETED or BLOCK_JOB_CANCELLED settles the graph, not the job", () => {
    expect(after("job mirror m0 top target=base sync=full", "wait m0 ready", "job complete m0", "wait event BLOCK_JOB_COMPLETED device=m0", "show graph", "wait m0 null")).toEqual([]);
    expect(after("job stream s0 top auto-dismiss=off", "wait event BLOCK_JOB_COMPLETED device=s0", "show graph", "job dismiss s0")).toEqual([
      "4:13 the state of job 's0' is not known here: wait for one first",
    ]);
  });

  it("a paused job told to complete stays where it is until resumed", () => {
    expect(after("job mirror m0 top target=base sync=full", "wait m0 ready", "job pause m0", "wait m0 standby", "job complete m0", "job resume m0", "wait m0 null")).toEqual([]);
  });
});

describe("the job of qmp blockdev-create", () => {
  const create = (id: string) => `qmp blockdev-create {"job-id": "${id}", "options": {"driver": "qcow2", "file": "base", "size": 1048576}}`;

  it("is started by the command, stays concluded, and ends with qmp job-dismiss", () => {
    expect(after(create("c0"), "wait c0 concluded", "expect job c0 type=create", 'qmp job-dismiss {"id": "c0"}', "wait c0 null", "expect job c0 status=null")).toEqual([]);
    expect(after(create("c0"), "wait c0 concluded", 'qmp job-dismiss {"id": "c0"}', "expect job c0 type=create")).toEqual(["4:12 job 'c0' is used after it ended"]);
    // It is no block job: block-job-dismiss does not find it, so it lives on.
    expect(after(create("c0"), "wait c0 concluded", 'qmp block-job-dismiss {"id": "c0"}', create("c0"))).toEqual(["4:1 duplicate job id 'c0'"]);
  });

  it("finalizes itself; its id is in use until it is dismissed, unless the command is written to fail", () => {
    const d = loadScenario(`${CHAIN}
${create("c0")}
wait c0 pending`, "t.scn").diagnostics;
    expect(d.map((x) => [x.message, x.notes])).toEqual([["job 'c0' finalizes itself: it does not stay 'pending'", ["blockdev-create's job always does"]]]);
    expect(after(create("c0"), "wait c0 concluded", create("c0"))).toEqual(["3:1 duplicate job id 'c0'"]);
    expect(after(create("c0"), "wait c0 concluded", `${create("c0")} -> error "Job ID 'c0' already in use"`)).toEqual([]);
    expect(after(`${create("c0")} -> error "x"`, "wait c0 concluded")).toEqual(["2:6 unknown job 'c0'"]);
  });
});

describe("the jobs of block job commands sent with qmp", () => {
  const backup = (id: string, extra = "") => `qmp drive-backup {"job-id": "${id}", "device": "top", "target": "$TEST_DIR/t.qcow2", "sync": "full"${extra}}`;

  it("are started by the command, with its auto-finalize and auto-dismiss", () => {
    expect(after(backup("b0"), "wait b0 null", 'qmp block-stream {"job-id": "s0", "device": "top"}', "wait s0 null")).toEqual([]);
    expect(after(backup("b0", ', "auto-dismiss": false'), "wait b0 concluded", "job dismiss b0")).toEqual([]);
    expect(after(backup("b0"), "wait b0 concluded")).toEqual(["2:9 job 'b0' dismisses itself: it does not stay 'concluded'"]);
    expect(after(backup("b0"), "show graph")).toEqual(["2:1 the graph shows job 'b0' while its state is not known here: wait for one first"]);
    // A sync=none backup runs until it is cancelled: its state is known from the start.
    expect(after(backup("b0").replace('"full"', '"none"'), "show graph", "job cancel b0", "wait b0 null")).toEqual([]);
    expect(after(`${backup("b0")} -> error "x"`, "wait b0 null")).toEqual(["2:6 unknown job 'b0'"]);
  });

  it("are started by the actions of a transaction", () => {
    const txn = `qmp transaction {"actions": [{"type": "drive-backup", "data": {"job-id": "k1", "device": "top", "target": "$TEST_DIR/k.qcow2", "sync": "full"}}, {"type": "blockdev-backup", "data": {"job-id": "k2", "device": "top", "target": "base", "sync": "full"}}]}`;
    expect(after(txn, "wait k1 null", "wait k2 null")).toEqual([]);
    expect(after(`${txn} -> error "x"`, "wait k1 null")).toEqual(["2:6 unknown job 'k1'"]);
  });
});

describe("waiting for a job's status", () => {
  it("only statuses a job stays in, and only those this job can stay in", () => {
    expect(after("job stream s0 top", "wait s0 running", "wait s0 pendng", "wait s0 pending")).toEqual([
      "2:9 a job does not stay 'running'",
      "3:9 unknown job status 'pendng'",
      "4:9 job 's0' finalizes itself: it does not stay 'pending'",
    ]);
    expect(after("job stream s0 top auto-finalize=off", "wait s0 concluded")).toEqual(["2:9 job 's0' dismisses itself: it does not stay 'concluded'"]);
    expect(after("job stream s0 top auto-finalize=off", "wait s0 ready")).toEqual(["2:9 a stream job never becomes ready"]);
    // Neither does a backup (backup_run ends or is cancelled), nor blockdev-create's or x-blockdev-amend's job.
    expect(after(`qmp drive-backup {"job-id": "b0", "device": "top", "target": "$TEST_DIR/t.qcow2", "sync": "full"}`, "wait b0 standby")).toEqual([
      "2:9 a backup job never becomes ready",
    ]);
    expect(after(`qmp blockdev-create {"job-id": "j0", "options": {"driver": "file", "filename": "$TEST_DIR/n.raw", "size": 0}}`, "wait j0 ready")).toEqual([
      "2:9 a create job never becomes ready",
    ]);
    expect(after(`qmp x-blockdev-amend {"job-id": "a0", "node-name": "top", "options": {"driver": "qcow2"}}`, "wait a0 ready")).toEqual([
      "2:9 an amend job never becomes ready",
    ]);
    expect(after("job commit c0 top top-node=top", "wait c0 ready")).toEqual([]);
    // A commit below the device is an active one when its top node has a writer (a writable export).
    expect(after("job commit c0 top top-node=base", "wait c0 ready")).toEqual([]);
  });
});

describe("job options", () => {
  it("are the command's arguments, typed by its schema", () => {
    expect(after("job stream s0 top base-nod=base speed=fast on-error=stpo auto-dismiss=1", "wait s0 null")).toEqual([
      "1:19 unknown option 'base-nod' for 'job stream'",
      "1:39 'speed' takes a number",
      "1:53 'on-error' does not take 'stpo': one of report, ignore, enospc, stop, auto",
      "1:71 'auto-dismiss' takes on or off",
    ]);
  });

  it("an object argument takes a JSON object, or its members one by one", () => {
    expect(after('job backup b0 top target=base sync=full x-perf={"max-chunk": 65536}', "wait b0 null")).toEqual([]);
    expect(after("job backup b0 top target=base sync=full x-perf.max-chunk=64k x-perf.max-workers=1", "wait b0 null")).toEqual([]);
    expect(after("job backup b0 top target=base sync=full x-perf=64k x-perf.max-chunks=1", "wait b0 null")).toEqual([
      "1:48 'x-perf' takes a JSON object",
      "1:52 option 'x-perf' is given whole and member by member",
      "1:52 unknown member 'max-chunks' of 'x-perf'",
    ]);
    expect(after('job backup b0 top target=base sync=full x-perf.max-chunk=64k x-perf={"max-workers": 1}', "wait b0 null")).toEqual([
      "1:62 option 'x-perf' is given whole and member by member",
    ]);
  });

  it("the job's id and node are not options", () => {
    expect(after("job stream s0 top device=top", "wait s0 null")).toEqual(["1:19 unknown option 'device' for 'job stream'"]);
  });

  it("required arguments, unless the statement is written to fail", () => {
    expect(after("job mirror m0 top target=base")).toEqual(["1:1 'job mirror' needs 'sync=…'"]);
    expect(after("job mirror m0 top target=base -> error \"Parameter 'sync' is missing\"")).toEqual([]);
  });

  it("node arguments name live nodes; a filter-node-name can be named from then on", () => {
    expect(after("job stream s0 top base-node=bse", "wait s0 null")).toEqual(["1:29 unknown node 'bse'"]);
    expect(after("job stream s0 top filter-node-name=cor auto-finalize=off", "wait s0 pending", "expect edge top -backing-> cor", "show node cor")).toEqual([]);
  });

  it("a verb takes its own arguments only", () => {
    expect(after("job mirror m0 top target=base sync=full", "wait m0 ready", "job cancel m0 force=on", "wait m0 null")).toEqual([]);
    expect(after("job mirror m0 top target=base sync=full", "wait m0 ready", "job pause m0 force=on")).toEqual(["3:14 unknown option 'force' for 'job pause'"]);
  });

  it("expect job knows query-jobs' and query-block-jobs' members", () => {
    expect(after("job stream s0 top auto-finalize=off", "wait s0 pending", "expect job s0 stauts=pending ready=yes type=strem offset=1M")).toEqual([
      "3:15 unknown job property 'stauts'",
      "3:36 'ready' takes on or off",
      "3:45 'type' does not take 'strem': one of commit, stream, mirror, backup, create, amend, snapshot-load, snapshot-save, snapshot-delete",
    ]);
  });
});

describe("expect frozen", () => {
  it("a backing link between nodes, without permissions", () => {
    expect(after("expect frozen top -backing-> base")).toEqual([]);
    expect(after("expect frozen top -file-> top/file", "expect frozen top -backing-> base perm=write")).toEqual([
      "1:20 only a backing link can be checked for being frozen, not 'file'",
      "2:40 'expect frozen' takes no perm= or shared=",
    ]);
    expect(after("add n0: null-co", "export n0 id=e0", "expect frozen export e0 -root-> n0")).toEqual([
      "3:15 an export's link is never frozen: name a node",
      "3:26 only a backing link can be checked for being frozen, not 'root'",
    ]);
  });

  it("names nodes that exist", () => {
    expect(after("expect frozen top -backing-> bse")).toEqual(["1:30 unknown node 'bse'"]);
  });
});

describe("require jobs", () => {
  it("is needed by job statements, job waits and expect job, not by wait event or expect frozen", () => {
    expect(problems("add n0: null-co\njob stream s0 n0\nwait s0 null\nwait event X\nexpect frozen n0 -backing-> n0")).toEqual([
      "2:1 'job stream' needs 'require jobs' in the scenario",
      "3:1 'wait' needs 'require jobs' in the scenario",
    ]);
  });

  it("is a known requirement without arguments", () => {
    expect(problems("require jobs now")).toEqual(["1:14 'require jobs' takes no arguments"]);
  });
});

describe("expectations on job statements", () => {
  it("jobs and verbs take them; waits do not", () => {
    expect(after('job stream s0 nosuch -> error "x"', 'job pause s0 -> error "x"', 'wait s0 null -> error "x"')).toEqual([
      "3:14 an expectation cannot apply to 'wait'",
    ]);
  });
});

describe("the job of qmp x-blockdev-amend", () => {
  const amend = (id: string) => `qmp x-blockdev-amend {"job-id": "${id}", "node-name": "base", "options": {"driver": "qcow2"}}`;

  it("is started by the command, finalizes itself, stays concluded, and ends with qmp job-dismiss", () => {
    expect(after(amend("x0"), "wait x0 concluded", "expect job x0 type=amend", 'qmp job-dismiss {"id": "x0"}', "wait x0 null")).toEqual([]);
    const d = loadScenario(`${CHAIN}
${amend("x0")}
wait x0 pending`, "t.scn").diagnostics;
    expect(d.map((x) => [x.message, x.notes])).toEqual([["job 'x0' finalizes itself: it does not stay 'pending'", ["x-blockdev-amend's job always does"]]]);
    expect(after(amend("x0"), "wait x0 concluded", amend("x0"))).toEqual(["3:1 duplicate job id 'x0'"]);
  });
});
