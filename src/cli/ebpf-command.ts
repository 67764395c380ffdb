/**
 * `llmtap ebpf`: HTTPS plaintext read where the TLS library handles it (issue 9), through
 * bpftrace, the separately privileged probe process (src/ebpf/bpftrace-runner.ts). Each
 * connection's two byte streams enter the same HTTP layer, decoders, store, JSONL and API as a
 * capture's (DESIGN §1); every call carries the process that made it. Ctrl-C (or SIGTERM) stops
 * bpftrace, hands over what it printed, flushes turns, store and exports, prints the summary and
 * exits 0.
 */
import type { SourceHealth } from '../api/types.js';
import { findOnPath } from '../capture/find-program.js';
import { checkComm } from '../ebpf/bpftrace-script.js';
import { EbpfSource, type EbpfCounters } from '../ebpf/ebpf-source.js';
import { createCapturePipeline, type CapturePipeline } from '../pipeline/replay.js';
import { intFlag, UserError } from './errors.js';
import { openPipelineRun, type OutputCommandOptions } from './run-pipeline.js';

export interface EbpfCommandOptions extends Omit<OutputCommandOptions, 'exitAfterDrain' | 'tlsKeylog'> {
  pid?: string[];
  comm?: string[];
  libssl?: string[];
  bpftrace?: string;
}

/** Released calls reach the HTTP layer and the store this often (the collector's hold, 100 ms,
 * comes on top: a call shows in the API within ~0.3 s of its last byte). */
const TICK_MS = 200;
/** The kernel's largest pid (PID_MAX_LIMIT on 64-bit, 2^22: proc(5) /proc/sys/kernel/pid_max). */
const PID_MAX = 4_194_304;


export async function runEbpf(o: EbpfCommandOptions): Promise<void> {
  const pids = (o.pid ?? []).map((p) => intFlag(p, '--pid', 0, 1, PID_MAX));
  const comms = o.comm ?? [];
  for (const c of comms) {
    const bad = checkComm(c);
    if (bad !== null) throw new UserError(bad, 2);
  }
  const bpftrace = findOnPath(o.bpftrace ?? 'bpftrace');
  if (bpftrace === null) {
    throw new UserError('bpftrace not found: install it (apt install bpftrace, dnf install bpftrace) or name it with --bpftrace PATH (see `llmtap doctor`)');
  }
  let source: EbpfSource | null = null;
  const run = await openPipelineRun(o, {
    sourceId: o.source ?? 'ebpf',
    describeSource: (s) => describeEbpf(s, source?.counters() ?? null),
  });
  const log = (line: string): void => {
    if (!o.quiet) run.log(line);
  };
  const pipeline: CapturePipeline = createCapturePipeline(run.pipeline);
  const started = performance.now();
  source = new EbpfSource({
    pipeline,
    anomalies: run.stats.anomalies,
    pids,
    comms,
    libssl: o.libssl ?? [],
    bpftrace,
    log,
    // Node links OpenSSL statically and exports it: the node on PATH is probed from the start.
    executables: [findOnPath('node'), process.execPath].filter((p): p is string => p !== null),
  });
  const src = source;
  let stopRequested: () => void = () => undefined;
  const stopped = new Promise<string | null>((resolve) => {
    stopRequested = () => resolve(null);
  });
  const stop = (): void => stopRequested();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let failure: unknown = null;
  let timer: NodeJS.Timeout | null = null;
  try {
    await src.start();
    if (!o.quiet) process.stderr.write('llmtap: reading TLS plaintext with eBPF; Ctrl-C to stop\n');
    timer = setInterval(() => {
      if (failure !== null) return;
      src.tick();
      run.stats.lastTs = pipeline.clock;
      run.tick(pipeline.clock, { flush: true }).catch((err: unknown) => {
        // The store failed (disk full): stop; what was committed stays.
        failure ??= err;
        stop();
      });
    }, TICK_MS);
    const died = await Promise.race([stopped, src.ended()]);
    clearInterval(timer);
    await src.stop();
    if (failure !== null) throw failure;
    await run.endOfInput(pipeline.clock);
    run.source.state = died === null ? 'stopped' : 'error';
    run.source.error = died;
    if (!o.quiet) process.stderr.write(formatEbpfSummary(pipeline, src.counters(), (performance.now() - started) / 1000));
    await run.close({ serveAfter: false });
    if (died !== null) throw new UserError(died);
  } catch (err) {
    if (timer !== null) clearInterval(timer);
    await src.stop().catch(() => undefined);
    if (err instanceof UserError) throw err;
    return run.fail(err);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** The health API's entry for the eBPF source: lost perf events are its kernel drops. */
export function describeEbpf(s: SourceHealth, c: EbpfCounters | null): SourceHealth {
  return { ...s, kind: 'ebpf', progress: null, drops: { kernel: c?.lostEvents ?? 0, interface: null, pipeline: 0 } };
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

export function formatEbpfSummary(p: CapturePipeline, c: EbpfCounters, secs: number): string {
  const s = p.stats;
  const lines = [
    `llmtap ebpf (${n(c.probeSets)} bpftrace process${c.probeSets === 1 ? '' : 'es'}: ${c.files.join(', ')})`,
    `  ${n(c.connections)} TLS connections, ${n(s.exchanges)} HTTP exchanges`,
    `  ${n(s.calls)} LLM calls, ${n(s.otherExchanges)} other exchanges`,
    `  ${secs.toFixed(1)} s, ${n(c.events)} probe events, ${n(c.lostEvents)} lost by the kernel`,
  ];
  const anomalies = s.anomalies.entries();
  if (anomalies.length > 0) lines.push(`  anomalies: ${anomalies.map(([name, k]) => `${name} ${n(k)}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}
