/**
 * `npm run bench`: builds (once, cached in bench/out/) a ≥200 MB capture of realistic LLM traffic
 * and a 2× one, then times on the same file in the same run:
 *   - llmtap replay FILE --jsonl -        (records counted from its output)
 *   - tshark decoding HTTP                 (the fair comparison: full dissection + TCP reassembly)
 *   - tcpdump -r FILE -w /dev/null         (the floor: read and write packets, no decoding)
 *   - llmtap replay FILE --db NEW.duckdb with --workers 1 and with --workers N (all cores):
 *     end to end into DuckDB (issue 6: "at least 1 Gbit/s (125 MB/s) end to end on one core")
 * and prints a markdown table (seconds, MB/s, packets/s, calls/s, peak RSS), plus llmtap's peak
 * RSS on the 1× and 2× files side by side: memory must not grow with the file.
 *
 * Then the cost of TLS decryption (issue 7): the same sessions inside TLS 1.3 (cached as
 * `llm-mix-Nmb-tls.pcap` and its `.keylog`), timed with `llmtap replay FILE --tls-keylog K` and
 * compared with the plaintext run: the same calls must come out, and the CPU time ratio is the
 * price of decryption. tshark with the same key log for comparison.
 *
 * Options: --size-mb N (default 200), --no-tshark, --no-2x, --no-tls, --no-db, --regen.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { findRepoRoot } from '../test/gen/repo-root.js';
import { type WorkloadMeta, cachedWorkload, keylogPathFor, writeWorkload } from './workload.js';

interface Measured {
  tool: string;
  command: string;
  ok: boolean;
  note: string;
  seconds: number | null;
  /** User + system CPU seconds (GNU time), or null. The fair measure on a shared machine: wall
   * time also counts waiting for a core other processes hold. */
  cpuSeconds: number | null;
  peakRssMb: number | null;
  /** Output lines matching the tool's "call" pattern. */
  calls: number | null;
}

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const sizeArg = args.indexOf('--size-mb');
const sizeMb = sizeArg >= 0 ? Number(args[sizeArg + 1]) : 200;

const root = findRepoRoot();
// Everything below (generation, measured commands) runs from the repository root.
process.chdir(root);
mkdirSync(join('bench', 'out'), { recursive: true });

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}
const gnuTime = existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-v', 'true'], { stdio: 'ignore' }).status === 0 ? '/usr/bin/time' : null;

function describe(meta: WorkloadMeta): string {
  const tls = meta.tls ? `, ${meta.tls.records} TLS records` : '';
  return `${fmt(meta.bytes / 1048576, 0)} MB, ${meta.packets} packets, ${meta.calls} calls in ${meta.sessions} connections (max ${meta.maxConcurrent} open)${tls}`;
}

function capture(mb: number): { path: string; meta: WorkloadMeta } {
  const target = mb * 1024 * 1024;
  // Relative to the repository root (the cwd of every measured command): shorter table rows.
  const path = join('bench', 'out', `llm-mix-${mb}mb.pcap`);
  const cached = flag('--regen') ? null : cachedWorkload(path, target);
  if (cached) {
    log(`using cached ${path} (${fmt(cached.bytes / 1048576, 0)} MB, ${cached.calls} calls)`);
    return { path, meta: cached };
  }
  log(`generating ${path} (${mb} MB)…`);
  const t = process.hrtime.bigint();
  const meta = writeWorkload(path, target);
  log(`  ${describe(meta)}, ${fmt(meta.captureSeconds, 0)} s of traffic, written in ${fmt(Number(process.hrtime.bigint() - t) / 1e9, 1)} s`);
  return { path, meta };
}

/** The plaintext capture's sessions (same seed, so the same calls) inside TLS 1.3, with its key
 * log: it stops on the session count, not the size, so it is larger by the TLS overhead. */
function tlsCapture(mb: number, plain: WorkloadMeta): { path: string; keylog: string; meta: WorkloadMeta } {
  const target = mb * 1024 * 1024;
  const path = join('bench', 'out', `llm-mix-${mb}mb-tls.pcap`);
  const keylog = keylogPathFor(path);
  const opts = { tls: true, sessions: plain.sessions, seed: plain.seed };
  const cached = flag('--regen') ? null : cachedWorkload(path, target, opts);
  if (cached) {
    log(`using cached ${path} + ${keylog} (${fmt(cached.bytes / 1048576, 0)} MB, ${cached.calls} calls)`);
    return { path, keylog, meta: cached };
  }
  log(`generating ${path} + ${keylog} (the ${mb} MB workload inside TLS 1.3)…`);
  const t = process.hrtime.bigint();
  const meta = writeWorkload(path, target, opts);
  log(`  ${describe(meta)}, written in ${fmt(Number(process.hrtime.bigint() - t) / 1e9, 1)} s`);
  return { path, keylog, meta };
}

/** llmtap is measured several times: its times are the best run's (noise only ever adds), its
 * peak RSS the median (one run's peak depends on when V8's full GCs happen to land, ±20 MB). */
const RUNS = 3;

/** How a run's calls are counted when they are not on stdout, and what to do before each run. */
interface MeasureOptions {
  /** A pattern of the command's stderr whose first group is the call count (e.g. llmtap's
   * summary line "stored N new calls" when the records go into a database). */
  stderrCalls?: RegExp;
  /** Runs before every measured run (e.g. delete the database so each run starts fresh). */
  before?: () => void;
}

async function measureRuns(tool: string, cmd: string[], callPattern: RegExp | null, opts: MeasureOptions = {}): Promise<Measured> {
  const runs: Measured[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await measure(tool, cmd, callPattern, opts));
  return summarize(runs);
}

/** Two commands measured turn about (a, b, a, b, …): on a shared machine both see the same
 * neighbours, so their ratio is fairer than that of two series taken minutes apart. */
async function measureRunsAlternating(
  a: { tool: string; cmd: string[] },
  b: { tool: string; cmd: string[] },
  callPattern: RegExp | null,
  opts: MeasureOptions = {},
): Promise<[Measured, Measured]> {
  const ra: Measured[] = [];
  const rb: Measured[] = [];
  for (let i = 0; i < RUNS; i++) {
    ra.push(await measure(a.tool, a.cmd, callPattern, opts));
    rb.push(await measure(b.tool, b.cmd, callPattern, opts));
  }
  return [summarize(ra), summarize(rb)];
}

function summarize(runs: Measured[]): Measured {
  const failed = runs.find((r) => !r.ok);
  if (failed) return failed;
  const least = (xs: (number | null)[]): number | null => (xs.some((x) => x === null) ? null : Math.min(...(xs as number[])));
  const rss = runs.map((r) => r.peakRssMb).filter((x): x is number => x !== null).sort((a, b) => a - b);
  return {
    ...runs[0]!,
    seconds: least(runs.map((r) => r.seconds)),
    cpuSeconds: least(runs.map((r) => r.cpuSeconds)),
    peakRssMb: rss.length === runs.length ? rss[Math.floor(runs.length / 2)]! : null,
    note: `best of ${runs.length}; RSS median (${rss.map((x) => fmt(x, 0)).join(', ')} MB)`,
  };
}

/** Runs `cmd`, counting stdout lines that match `callPattern` (streamed: never buffered whole),
 * measuring wall time and peak RSS (GNU time's max RSS, else polling /proc/PID/status VmHWM). */
async function measure(tool: string, cmd: string[], callPattern: RegExp | null, opts: MeasureOptions = {}): Promise<Measured> {
  const command = cmd.join(' ');
  opts.before?.();
  const full = gnuTime ? [gnuTime, '-v', ...cmd] : cmd;
  const t0 = process.hrtime.bigint();
  let child: ChildProcess;
  try {
    child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: root });
  } catch (e) {
    return { tool, command, ok: false, note: `cannot start: ${String(e)}`, seconds: null, cpuSeconds: null, peakRssMb: null, calls: null };
  }
  let calls = 0;
  let partial = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (s: string) => {
    if (!callPattern) return;
    const lines = (partial + s).split('\n');
    partial = lines.pop()!;
    for (const l of lines) if (callPattern.test(l)) calls++;
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    stderr = (stderr + s).slice(-20_000);
  });
  let hwmKb = 0;
  const poll = gnuTime
    ? null
    : setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (m) hwmKb = Math.max(hwmKb, Number(m[1]));
        } catch {
          /* the process has exited */
        }
      }, 20);
  const code = await new Promise<number | null>((res) => {
    child.on('error', () => res(null));
    child.on('close', (c) => res(c));
  });
  if (poll) clearInterval(poll);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (callPattern && callPattern.test(partial)) calls++;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  if (rss) hwmKb = Number(rss[1]);
  const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
  const sys = /System time \(seconds\): ([\d.]+)/.exec(stderr);
  const cpuSeconds = user && sys ? Number(user[1]) + Number(sys[1]) : null;
  const childErr = stderr
    .split('\n')
    .filter((l) => l.trim() && !/^\s+\S.*: /.test(l) && !l.startsWith('\tCommand being timed') && !/Running as user "root"/.test(l));
  const ok = code === 0;
  const fromStderr = opts.stderrCalls ? opts.stderrCalls.exec(stderr) : null;
  return {
    tool,
    command,
    ok,
    note: ok ? '' : `exit ${code ?? 'error'}: ${childErr.slice(-2).join(' | ').slice(0, 200)}`,
    seconds,
    cpuSeconds,
    peakRssMb: hwmKb ? hwmKb / 1024 : null,
    calls: opts.stderrCalls ? (fromStderr ? Number(fromStderr[1]!.replace(/,/g, '')) : null) : callPattern ? calls : null,
  };
}

function fmt(n: number | null, digits = 1): string {
  return n === null || !Number.isFinite(n) ? '—' : n.toFixed(digits);
}

function log(s: string): void {
  process.stderr.write(`${s}\n`);
}

function row(m: Measured, meta: WorkloadMeta, callsLabel: string): string {
  if (!m.ok && m.seconds === null) return `| ${m.tool} | \`${m.command}\` | — | — | — | — | — | — | — | ${m.note} |`;
  const s = m.seconds!;
  const callsPerS = m.calls !== null ? `${fmt(m.calls / s, 0)} (${m.calls} ${callsLabel})` : '—';
  const cpuRate = m.cpuSeconds ? fmt(meta.bytes / 1048576 / m.cpuSeconds, 1) : '—';
  return `| ${m.tool} | \`${m.command}\` | ${fmt(s, 2)} | ${fmt(m.cpuSeconds, 2)} | ${fmt(meta.bytes / 1048576 / s, 1)} | ${cpuRate} | ${fmt(meta.packets / s, 0)} | ${callsPerS} | ${fmt(m.peakRssMb, 0)} | ${m.note} |`;
}

function missing(tool: string, command: string, why: string): Measured {
  return { tool, command, ok: false, note: why, seconds: null, cpuSeconds: null, peakRssMb: null, calls: null };
}

async function main(): Promise<void> {
  const one = capture(sizeMb);
  const two = flag('--no-2x') ? null : capture(sizeMb * 2);
  const llmtapBin = join('bin', 'llmtap.js');
  const llmtapCmd = (file: string) => ['node', llmtapBin, 'replay', file, '--jsonl', '-'];
  const callLine = /"kind"\s*:\s*"llm_call"/;
  const results: [Measured, string][] = [];

  log(`timing llmtap (${RUNS} runs)…`);
  const llmtap1 = await measureRuns('llmtap', llmtapCmd(one.path), callLine);
  results.push([llmtap1, 'calls']);

  const tsharkPath = which('tshark');
  const tsharkCmd = ['tshark', '-r', one.path, '-Y', 'http', '-T', 'fields', '-e', 'http.request.method', '-e', 'http.response.code'];
  if (flag('--no-tshark')) results.push([missing('tshark', tsharkCmd.join(' '), 'skipped (--no-tshark)'), '']);
  else if (!tsharkPath) results.push([missing('tshark', tsharkCmd.join(' '), 'not installed (apt install tshark)'), '']);
  else {
    log('timing tshark…');
    results.push([await measure('tshark (HTTP decode)', tsharkCmd, /^(POST|GET)\t/), 'requests']);
  }

  const tcpdumpCmd = ['tcpdump', '-r', one.path, '-w', '/dev/null'];
  if (!which('tcpdump')) results.push([missing('tcpdump', tcpdumpCmd.join(' '), 'not installed (apt install tcpdump)'), '']);
  else {
    log('timing tcpdump…');
    results.push([await measure('tcpdump (read/write only)', tcpdumpCmd, null), '']);
  }

  const pinned = tsharkPath && !flag('--no-tshark') ? await measureOneCore(llmtapCmd(one.path), callLine, tsharkCmd) : null;

  const db = flag('--no-db') ? null : await measureDb(one.path);
  if (db) results.push(...db.rows.map((r): [Measured, string] => [r, 'calls stored']));

  const tls = flag('--no-tls') ? null : await measureTls(one.path, one.meta);

  let llmtap2: Measured | null = null;
  if (two) {
    log(`timing llmtap on the 2× file (${RUNS} runs)…`);
    llmtap2 = await measureRuns('llmtap (2× file)', llmtapCmd(two.path), callLine);
  }

  const out: string[] = [];
  const m = one.meta;
  out.push(`## llmtap benchmark`);
  out.push('');
  out.push(
    `Capture: ${fmt(m.bytes / 1048576, 0)} MB, ${m.packets} packets, ${m.calls} LLM calls (${Object.entries(m.byApi)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}) on ${m.sessions} connections, up to ${m.maxConcurrent} open at once, ${fmt(m.captureSeconds, 0)} s of traffic.`,
  );
  out.push(`Node ${process.version}; peak RSS from ${gnuTime ? '`/usr/bin/time -v`' : '/proc/PID/status VmHWM polling'}.`);
  out.push('');
  out.push('| tool | command | wall s | CPU s | MB/s (wall) | MB/s (CPU) | packets/s | calls/s | peak RSS MB | notes |');
  out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const [r, label] of results) out.push(row(r, m, label));
  out.push('');
  const tshark = results.find(([r]) => r.tool.startsWith('tshark'))?.[0];
  if (llmtap1.ok && tshark?.ok) {
    const byCpu = llmtap1.cpuSeconds && tshark.cpuSeconds ? ` (${fmt(tshark.cpuSeconds / llmtap1.cpuSeconds, 1)}× by CPU time)` : '';
    out.push(`llmtap runs ${fmt(tshark.seconds! / llmtap1.seconds!, 1)}× tshark's rate by wall time${byCpu} (llmtap with its default settings; the DuckDB rows pin --workers).`);
  }
  if (llmtap1.calls !== null && llmtap1.ok) out.push(`llmtap reported ${llmtap1.calls} of the ${m.calls} calls in the capture.`);
  if (pinned) out.push(...oneCoreLines(pinned, m));
  if (db) out.push(...dbLines(db, m));
  if (tls) out.push('', ...tlsSection(one.meta, tls));
  if (two && llmtap2) {
    out.push('');
    out.push('### Memory vs file size (llmtap)');
    out.push('');
    out.push('| file | MB | wall s | CPU s | peak RSS MB | calls | notes |');
    out.push('|---|---:|---:|---:|---:|---:|---|');
    out.push(`| 1× | ${fmt(one.meta.bytes / 1048576, 0)} | ${fmt(llmtap1.seconds, 2)} | ${fmt(llmtap1.cpuSeconds, 2)} | ${fmt(llmtap1.peakRssMb, 0)} | ${llmtap1.calls ?? '—'} | ${llmtap1.note} |`);
    out.push(`| 2× | ${fmt(two.meta.bytes / 1048576, 0)} | ${fmt(llmtap2.seconds, 2)} | ${fmt(llmtap2.cpuSeconds, 2)} | ${fmt(llmtap2.peakRssMb, 0)} | ${llmtap2.calls ?? '—'} | ${llmtap2.note} |`);
    if (llmtap1.peakRssMb && llmtap2.peakRssMb && llmtap1.ok && llmtap2.ok) {
      const ratio = llmtap2.peakRssMb / llmtap1.peakRssMb;
      out.push('');
      out.push(`Peak RSS ratio 2×/1×: ${fmt(ratio, 2)} (${ratio < 1.25 ? 'flat: memory does not grow with the file' : 'GROWS with the file size'}).`);
    } else if (!llmtap2.ok) out.push(`\nllmtap failed on the 2× file: ${llmtap2.note}`);
  }
  process.stdout.write(out.join('\n') + '\n');
}

/** llmtap and tshark each pinned to one core (`taskset -c 0`), llmtap's helper threads (GC,
 * compiler) included: issue 2's bar is "10× tshark's rate on one core", and unpinned, llmtap's
 * wall time also counts a second core. Null rows when taskset is missing. */
interface OneCore {
  llmtap: Measured | null;
  tshark: Measured | null;
}

async function measureOneCore(llmtap: string[], callLine: RegExp, tshark: string[]): Promise<OneCore> {
  const taskset = which('taskset');
  if (!taskset) return { llmtap: null, tshark: null };
  const pin = (cmd: string[]): string[] => ['taskset', '-c', '0', ...cmd];
  log(`timing llmtap and tshark pinned to one core (${RUNS} runs of llmtap)…`);
  return { llmtap: await measureRuns('llmtap, one core', pin(llmtap), callLine), tshark: await measure('tshark, one core', pin(tshark), /^(POST|GET)\t/) };
}

function oneCoreLines(p: OneCore, meta: WorkloadMeta): string[] {
  const out: string[] = ['', '### One core (issue 2: at least 10× tshark)', ''];
  if (!p.llmtap || !p.tshark) return [...out, 'taskset not found (util-linux): not measured.'];
  out.push('| tool | command | wall s | CPU s | MB/s (wall) | MB/s (CPU) | packets/s | calls/s | peak RSS MB | notes |');
  out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---|');
  out.push(row(p.llmtap, meta, 'calls'), row(p.tshark, meta, 'requests'));
  if (p.llmtap.ok && p.tshark.ok && p.llmtap.seconds && p.tshark.seconds) {
    const ratio = p.tshark.seconds / p.llmtap.seconds;
    out.push('', `On one core llmtap runs ${fmt(ratio, 1)}× tshark's rate by wall time (llmtap best of ${RUNS}, tshark one run; bar: 10×, ${ratio >= 10 ? 'met' : 'NOT met'}).`);
  }
  return out;
}

interface DbRuns {
  /** Worker counts measured, in row order (empty when the rows were skipped). */
  workers: number[];
  rows: Measured[];
  /** Why rows are missing, if any are. */
  note: string | null;
}

/** End to end into DuckDB (issue 6): `llmtap replay FILE --db NEW --workers 1` and `--workers N`
 * (N = all cores), timed turn about, each run into a fresh database file (deleted before every
 * run: an existing database would turn inserts into duplicate skips). Calls are counted from the
 * summary's "stored N new calls". Without the --workers flag (an older build), one row without
 * it: llmtap is then single-threaded anyway. */
async function measureDb(file: string): Promise<DbRuns> {
  const dbPath = join('bench', 'out', 'bench-e2e.duckdb');
  const fresh = (): void => {
    for (const f of [dbPath, `${dbPath}.wal`, `${dbPath}.bodies`]) rmSync(f, { force: true, recursive: true });
  };
  const bin = join('bin', 'llmtap.js');
  const cmd = (extra: string[]): string[] => ['node', bin, 'replay', file, '--db', dbPath, '--no-retention', '--exit-after-drain', ...extra];
  const opts: MeasureOptions = { stderrCalls: /stored ([\d,]+) new calls/, before: fresh };
  const help = spawnSync('node', [bin, 'replay', '--help'], { encoding: 'utf8' });
  const cores = availableParallelism();
  try {
    if (!/--workers/.test(help.stdout ?? '')) {
      log(`timing llmtap into DuckDB (${RUNS} runs; this build has no --workers)…`);
      return { workers: [1], rows: [await measureRuns('llmtap → DuckDB (1 thread)', cmd([]), null, opts)], note: 'this build has no --workers flag: the all-cores row is missing' };
    }
    if (cores < 2) {
      log(`timing llmtap into DuckDB, --workers 1 (${RUNS} runs; one core here)…`);
      return { workers: [1], rows: [await measureRuns('llmtap → DuckDB, --workers 1', cmd(['--workers', '1']), null, opts)], note: 'one core on this machine: no all-cores row' };
    }
    log(`timing llmtap into DuckDB with --workers 1 and --workers ${cores}, turn about (${RUNS} runs each)…`);
    const [w1, wn] = await measureRunsAlternating(
      { tool: 'llmtap → DuckDB, --workers 1', cmd: cmd(['--workers', '1']) },
      { tool: `llmtap → DuckDB, --workers ${cores}`, cmd: cmd(['--workers', String(cores)]) },
      null,
      opts,
    );
    return { workers: [1, cores], rows: [w1, wn], note: null };
  } finally {
    fresh();
  }
}

/** The issue-6 verdict under the table: one core's end-to-end rate against 125 MB/s. */
function dbLines(db: DbRuns, meta: WorkloadMeta): string[] {
  const out: string[] = [''];
  out.push(`End to end into DuckDB (a fresh file each run; calls = the summary's "stored N new calls"; the ${db.rows.length > 1 ? 'two rows were' : 'row was'} timed turn about).`);
  if (db.note) out.push(`(${db.note}.)`);
  const one = db.rows[0];
  const mb = meta.bytes / 1048576;
  // "On one core": by CPU seconds (user + system of every thread), which is what one core
  // would take; with --workers 1 the wall time is close to it when a core is free.
  if (one?.ok && one.cpuSeconds) {
    const rate = mb / one.cpuSeconds;
    out.push(`One core, end to end into DuckDB: ${fmt(rate, 1)} MB/s by CPU time, ${fmt(mb / one.seconds!, 1)} MB/s by wall time (issue 6 target: 125 MB/s, ${rate >= 125 ? 'met' : 'NOT met'}).`);
  }
  const all = db.rows[1];
  if (one?.ok && all?.ok && one.seconds && all.seconds) {
    out.push(`--workers ${db.workers[1]}: ${fmt(mb / all.seconds, 1)} MB/s by wall time, ${fmt(one.seconds / all.seconds, 2)}× the --workers 1 wall rate, ${fmt(all.cpuSeconds && one.cpuSeconds ? all.cpuSeconds / one.cpuSeconds : null, 2)}× its CPU time.`);
  }
  for (const r of db.rows) if (r.ok && r.calls !== meta.calls) out.push(`${r.tool}: stored ${r.calls ?? '—'} of the ${meta.calls} calls.`);
  return out;
}

interface TlsRuns {
  meta: WorkloadMeta;
  keylog: string;
  /** The plaintext capture, timed turn about with `llmtap`. */
  plain: Measured;
  llmtap: Measured;
  tshark: Measured;
}

/** Times llmtap (and tshark) on the TLS copy of the workload, with its key log. */
async function measureTls(plainPath: string, plain: WorkloadMeta): Promise<TlsRuns> {
  const { path, keylog, meta } = tlsCapture(sizeMb, plain);
  const callLine = /"kind"\s*:\s*"llm_call"/;
  const bin = join('bin', 'llmtap.js');
  log(`timing llmtap on the TLS and the plaintext capture, turn about (${RUNS} runs each)…`);
  const [plainRun, llmtap] = await measureRunsAlternating(
    { tool: 'llmtap, plaintext', cmd: ['node', bin, 'replay', plainPath, '--jsonl', '-'] },
    { tool: 'llmtap, TLS 1.3', cmd: ['node', bin, 'replay', path, '--tls-keylog', keylog, '--jsonl', '-'] },
    callLine,
  );
  // tshark decrypts with the same NSS key log (Wireshark's tls.keylog_file preference) and
  // dissects the HTTP inside: the same fair comparison as the plaintext row.
  const tsharkCmd = ['tshark', '-r', path, '-o', `tls.keylog_file:${keylog}`, '-Y', 'http', '-T', 'fields', '-e', 'http.request.method', '-e', 'http.response.code'];
  let tshark: Measured;
  if (flag('--no-tshark')) tshark = missing('tshark --tls', tsharkCmd.join(' '), 'skipped (--no-tshark)');
  else if (!which('tshark')) tshark = missing('tshark --tls', tsharkCmd.join(' '), 'not installed (apt install tshark)');
  else {
    log('timing tshark on the TLS capture…');
    tshark = await measure('tshark (TLS + HTTP decode)', tsharkCmd, /^(POST|GET)\t/);
  }
  return { meta, keylog, plain: plainRun, llmtap, tshark };
}

/** The decryption-cost table: plaintext and TLS runs of the same calls, and their ratio. */
function tlsSection(plain: WorkloadMeta, t: TlsRuns): string[] {
  const plainRun = t.plain;
  const out: string[] = [];
  const m = t.meta;
  out.push('### TLS decryption cost (the same workload inside TLS 1.3)');
  out.push('');
  out.push(
    `TLS capture: ${fmt(m.bytes / 1048576, 0)} MB (${fmt((m.bytes / plain.bytes - 1) * 100, 1)}% TLS overhead), ${m.packets} packets, ${m.tls?.records ?? '—'} records, ${m.tls?.suite ?? '—'}, ALPN http/1.1, key log \`${t.keylog}\`.`,
  );
  out.push('');
  out.push('| run | command | file MB | wall s | CPU s | MB/s (wall) | MB/s (CPU) | calls | peak RSS MB | notes |');
  out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---|');
  const line = (name: string, r: Measured, meta: WorkloadMeta, label: string): string => {
    const mb = meta.bytes / 1048576;
    if (r.seconds === null) return `| ${name} | \`${r.command}\` | ${fmt(mb, 0)} | — | — | — | — | — | — | ${r.note} |`;
    const calls = r.calls === null ? '—' : `${r.calls} ${label}`;
    return `| ${name} | \`${r.command}\` | ${fmt(mb, 0)} | ${fmt(r.seconds, 2)} | ${fmt(r.cpuSeconds, 2)} | ${fmt(mb / r.seconds, 1)} | ${r.cpuSeconds ? fmt(mb / r.cpuSeconds, 1) : '—'} | ${calls} | ${fmt(r.peakRssMb, 0)} | ${r.note} |`;
  };
  out.push(line('llmtap, plaintext', plainRun, plain, 'calls'));
  out.push(line('llmtap, TLS 1.3', t.llmtap, m, 'calls'));
  out.push(line('tshark, TLS 1.3', t.tshark, m, 'requests'));
  out.push('');
  out.push(`The two llmtap rows were timed turn about (plaintext, TLS, plaintext, …) so both saw the same load; compare CPU seconds.`);
  if (!plainRun.ok || !t.llmtap.ok) {
    out.push(`Decryption cost not measured: ${!t.llmtap.ok ? `the TLS run failed (${t.llmtap.note})` : 'the plaintext run failed'}.`);
    return out;
  }
  const same = plainRun.calls === t.llmtap.calls;
  out.push(
    `Calls found: plaintext ${plainRun.calls ?? '—'}, TLS ${t.llmtap.calls ?? '—'} of the ${m.calls} in the capture (${same ? 'the same' : 'DIFFERENT: decryption lost or gained calls'}).`,
  );
  const cpu = plainRun.cpuSeconds !== null && t.llmtap.cpuSeconds !== null ? t.llmtap.cpuSeconds / plainRun.cpuSeconds : null;
  const wall = t.llmtap.seconds! / plainRun.seconds!;
  // Per byte of the workload (the plaintext file's size) so the TLS file's extra bytes count as cost.
  const workMb = plain.bytes / 1048576;
  const rate = (r: Measured): string => (r.cpuSeconds ? `${fmt(workMb / r.cpuSeconds, 1)} MB/s` : '—');
  out.push(
    `Decryption cost: ${cpu === null ? '—' : `${fmt(cpu, 2)}× the CPU time`} (${fmt(t.llmtap.cpuSeconds, 2)} s vs ${fmt(plainRun.cpuSeconds, 2)} s), ${fmt(wall, 2)}× the wall time; ` +
      `workload throughput by CPU time ${rate(t.llmtap)} in TLS vs ${rate(plainRun)} in plaintext.`,
  );
  if (t.tshark.ok && t.tshark.seconds !== null) {
    const byCpu = t.tshark.cpuSeconds && t.llmtap.cpuSeconds ? ` (${fmt(t.tshark.cpuSeconds / t.llmtap.cpuSeconds, 1)}× by CPU time)` : '';
    out.push(`On the TLS capture llmtap runs ${fmt(t.tshark.seconds / t.llmtap.seconds!, 1)}× tshark's rate by wall time${byCpu}.`);
  }
  return out;
}

main().catch((e: unknown) => {
  log(`bench: ${e instanceof Error ? e.stack : String(e)}`);
  process.exit(1);
});
