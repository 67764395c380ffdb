/**
 * `npm run bench`: builds (once, cached in bench/out/) a ≥200 MB capture of realistic LLM traffic
 * and a 2× one, then times on the same file in the same run:
 *   - llmtap replay FILE --jsonl -        (records counted from its output)
 *   - tshark decoding HTTP                 (the fair comparison: full dissection + TCP reassembly)
 *   - tcpdump -r FILE -w /dev/null         (the floor: read and write packets, no decoding)
 * and prints a markdown table (seconds, MB/s, packets/s, calls/s, peak RSS), plus llmtap's peak
 * RSS on the 1× and 2× files side by side: memory must not grow with the file.
 *
 * Options: --size-mb N (default 200), --no-tshark, --no-2x, --regen.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findRepoRoot } from '../test/gen/repo-root.js';
import { type WorkloadMeta, cachedWorkload, writeWorkload } from './workload.js';

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
  log(`  ${fmt(meta.bytes / 1048576, 0)} MB, ${meta.packets} packets, ${meta.calls} calls in ${meta.sessions} connections (max ${meta.maxConcurrent} open), ${fmt(Number(process.hrtime.bigint() - t) / 1e9, 1)} s`);
  return { path, meta };
}

/** llmtap is measured several times: its times are the best run's (noise only ever adds), its
 * peak RSS the median (one run's peak depends on when V8's full GCs happen to land, ±20 MB). */
const RUNS = 3;

async function measureRuns(tool: string, cmd: string[], callPattern: RegExp | null): Promise<Measured> {
  const runs: Measured[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await measure(tool, cmd, callPattern));
  const failed = runs.find((r) => !r.ok);
  if (failed) return failed;
  const least = (xs: (number | null)[]): number | null => (xs.some((x) => x === null) ? null : Math.min(...(xs as number[])));
  const rss = runs.map((r) => r.peakRssMb).filter((x): x is number => x !== null).sort((a, b) => a - b);
  return {
    ...runs[0]!,
    seconds: least(runs.map((r) => r.seconds)),
    cpuSeconds: least(runs.map((r) => r.cpuSeconds)),
    peakRssMb: rss.length === RUNS ? rss[Math.floor(RUNS / 2)]! : null,
    note: `best of ${RUNS}; RSS median (${rss.map((x) => fmt(x, 0)).join(', ')} MB)`,
  };
}

/** Runs `cmd`, counting stdout lines that match `callPattern` (streamed: never buffered whole),
 * measuring wall time and peak RSS (GNU time's max RSS, else polling /proc/PID/status VmHWM). */
async function measure(tool: string, cmd: string[], callPattern: RegExp | null): Promise<Measured> {
  const command = cmd.join(' ');
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
  return {
    tool,
    command,
    ok,
    note: ok ? '' : `exit ${code ?? 'error'}: ${childErr.slice(-2).join(' | ').slice(0, 200)}`,
    seconds,
    cpuSeconds,
    peakRssMb: hwmKb ? hwmKb / 1024 : null,
    calls: callPattern ? calls : null,
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
    out.push(`llmtap runs ${fmt(tshark.seconds! / llmtap1.seconds!, 1)}× tshark's rate by wall time${byCpu}; llmtap is single-threaded (one core).`);
  }
  if (llmtap1.calls !== null && llmtap1.ok) out.push(`llmtap reported ${llmtap1.calls} of the ${m.calls} calls in the capture.`);
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

main().catch((e: unknown) => {
  log(`bench: ${e instanceof Error ? e.stack : String(e)}`);
  process.exit(1);
});
