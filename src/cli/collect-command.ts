/**
 * `llmtap collect --listen-probes tcp://HOST:PORT`: the collecting end of remote probes (issue 6
 * item 4). Probes (`llmtap probe`, or Netis cloud-probe speaking the same batch format) push
 * packet batches; each probe's packets go through the same pipeline as a capture, into the same
 * outputs (`openPipelineRun`: JSONL, store, API, console, metrics, alerts).
 *
 * A command of its own, not a `--probe-listen` source on `capture`: it needs neither tcpdump nor
 * any capture privilege, and DESIGN §6 gives each source its subcommand with shared output
 * options.
 *
 * One pipeline per probe (created at its first batch): a probe's flows are its own, so each has
 * its own FlowTable (two probes seeing identical 5-tuples, e.g. NATed hosts, stay apart) and its
 * own capture clock (probes' clocks differ), and its records carry `source` = the probe uuid.
 * The turn tracker is ticked with each probe's own clock (a watermark per source, DESIGN §1), so a
 * probe host whose clock runs ahead does not close the other probes' turns; the metric windows
 * and alert rules move on each probe's own clock too.
 * The pipelines share the run's counters, so the summary and health's `counts` show totals; health
 * lists the collector and then each probe as a source of its own (`sourceEntries`), which /metrics'
 * llmtap_source_* series read (one `source` label per probe, capped there).
 *
 * With worker threads (`--workers N`, docs/workers.md) the probes share one pool: each worker
 * keeps one pipeline per probe for the flows hashed to it, and the records come back in the
 * order the in-thread collector makes them.
 */
import type { SourceHealth } from '../api/types.js';
import { forEachProbeFrame, wellFormedProbeBatches, type ProbeBatchProblem } from '../capture/probe-batch.js';
import { isLoopbackHost, checkProbeEndpoint, listenForProbes, ProbeListenError, type ProbeListener } from '../capture/probe-source.js';
import type { CaptureFileSummary } from '../capture/capture-parser.js';
import { isoMicros, type Micros } from '../core/time.js';
import { createCapturePipeline, summaryOf, type ReplaySummary } from '../pipeline/replay.js';
import type { CapturedFrame } from '../capture/types.js';
import type { ParallelCapture } from '../workers/parallel-pipeline.js';
import { resolveWorkers } from '../workers/worker-count.js';
import { UserError } from './errors.js';
import { formatRunSummary, openPipelineRun, type OutputCommandOptions, type PipelineRun, type RunPipelineOptions } from './run-pipeline.js';

export interface CollectCommandOptions extends Omit<OutputCommandOptions, 'exitAfterDrain' | 'source'> {
  listenProbes: string;
}

/** The wall-clock tick, as for live capture (capture-command.ts): the store is flushed and idle
 * probes' clocks move on. */
const TICK_MS = 200;
/**
 * A probe holds packets up to 100 ms before sending a batch (probe-command.ts), and the network
 * adds its delay: a probe whose last batch came longer ago than this is idle, and its clock moves
 * on by the wall time since (on the probe's own clock: probes' clocks need not agree with ours).
 */
const PROBE_IDLE_MS = 1_000;
/**
 * Probes served at once. Each has a whole pipeline (flow table, HTTP and TLS state, each with its
 * own caps), so memory grows with this; a fleet beyond it wants several collectors or the
 * ClickHouse backend (DESIGN intro). Batches from further probe uuids are dropped and counted
 * (`probe_too_many_probes`): uuids come off the network.
 */
export const MAX_PROBES = 64;

/** One probe as the collector sees it. */
export interface ProbeState {
  id: string;
  /** Its pipeline (in-thread), or its source on the worker threads (`finish` absent). */
  pipeline: ProbePipeline;
  batches: number;
  packets: number;
  bytes: number;
  /** Its flow table's connections (the shared stats field holds the last pipeline's only). */
  connections: number;
  /** performance.now() of its last batch. */
  arrivedAt: number;
  /** Its capture clock when the last batch came. */
  clockAtArrival: Micros | null;
  /** Its calls (records whose `source` is its uuid). */
  calls: number;
  /** Capture times of its first and latest packet (its own clock). */
  firstTs: Micros | null;
  lastTs: Micros | null;
  /** Hands a frame of its batches to its pipeline, noting the packet's time. */
  onFrame(f: CapturedFrame): void;
}

interface ProbePipeline {
  readonly clock: Micros | null;
  onFrame(f: CapturedFrame): void;
  advanceTo(now: Micros): void;
  finish?(capture: CaptureFileSummary, started: number): ReplaySummary;
}

export async function runCollect(o: CollectCommandOptions): Promise<void> {
  const at = checkProbeEndpoint(o.listenProbes);
  if (at === null) throw new UserError(`--listen-probes ${o.listenProbes}: expected tcp://HOST:PORT, e.g. tcp://0.0.0.0:5556`, 2);
  let listener: ProbeListener;
  try {
    listener = await listenForProbes(o.listenProbes);
  } catch (err) {
    if (err instanceof ProbeListenError) throw new UserError(err.message);
    throw err;
  }
  const probes = new Map<string, ProbeState>();
  const dropped = { batches: 0, packets: 0 };
  let run: PipelineRun;
  try {
    run = await openPipelineRun(o, {
      sourceId: `probes@${listener.endpoint}`,
      followKeyLog: true,
      sources: () => sourceEntries(run, probes, dropped.packets),
    });
  } catch (err) {
    listener.close();
    throw err;
  }
  const stats = run.stats;
  const workers = resolveWorkers(run.config.workers);
  let parallel: ParallelCapture | null = null;
  // Each probe's calls, for its health entry (records carry the probe's uuid as `source`).
  const countCall = (source: string): void => {
    const p = probes.get(source);
    if (p !== undefined) p.calls++;
  };
  const base = run.pipeline;
  const inThread: RunPipelineOptions = {
    ...base,
    onCall: (r, ex, call) => {
      countCall(r.source);
      base.onCall(r, ex, call);
    },
  };
  if (workers > 1) {
    const { ParallelCapture } = await import('../workers/parallel-pipeline.js');
    const wo = run.workerOptions(workers, true);
    parallel = new ParallelCapture({
      ...wo,
      outputs: {
        ...wo.outputs,
        onCall: (r, stored, input) => {
          countCall(r.source);
          wo.outputs.onCall(r, stored, input);
        },
      },
    });
  }
  if (!o.quiet) {
    process.stderr.write(`llmtap: collecting probe batches on ${listener.endpoint}; Ctrl-C to stop\n`);
    if (!isLoopbackHost(at.host)) {
      process.stderr.write(
        `llmtap: WARNING: ${listener.endpoint} accepts packets from anyone who can reach it, under any probe id; admit only your probes (firewall, private network; see docs/probes.md)\n`,
      );
    }
  }

  const started = performance.now();
  const clock = (): Micros | null => {
    let max: Micros | null = null;
    for (const p of probes.values()) if (p.pipeline.clock !== null && (max === null || p.pipeline.clock > max)) max = p.pipeline.clock;
    return max;
  };
  // The pipelines share the run's counters, but `connections` is a value each sets from its own
  // flow table (not a sum): around each use of a pipeline the field holds that probe's count,
  // and the total across probes in between.
  const withProbe = (p: ProbeState, use: () => void): void => {
    // With workers the counter is the workers' sum already.
    if (parallel !== null) return use();
    stats.connections = p.connections;
    use();
    p.connections = stats.connections;
    let sum = 0;
    for (const q of probes.values()) sum += q.connections;
    stats.connections = sum;
  };
  const probeFor = (id: string): ProbeState | null => {
    let p = probes.get(id);
    if (p !== undefined) return p;
    if (probes.size >= MAX_PROBES) return null;
    const pipeline = parallel !== null ? parallel.source(id) : createCapturePipeline({ ...inThread, source: id });
    const probe: ProbeState = {
      id,
      pipeline,
      batches: 0,
      packets: 0,
      bytes: 0,
      connections: 0,
      arrivedAt: 0,
      clockAtArrival: null,
      calls: 0,
      firstTs: null,
      lastTs: null,
      onFrame: (f) => {
        probe.firstTs ??= f.ts;
        if (probe.lastTs === null || f.ts > probe.lastTs) probe.lastTs = f.ts;
        pipeline.onFrame(f);
      },
    };
    p = probe;
    probes.set(id, p);
    if (!o.quiet) process.stderr.write(`llmtap: probe ${id} connected\n`);
    return p;
  };
  const refuse = (problem: ProbeBatchProblem | 'probe_multipart' | 'probe_too_many_probes', packets = 0): void => {
    stats.anomalies.add(problem);
    dropped.batches++;
    dropped.packets += packets;
  };

  let failure: unknown = null;
  const stop = (): void => listener.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const timer = setInterval(() => {
    if (failure !== null) return;
    try {
      parallel?.flushPending();
    } catch (err) {
      // A worker failed: stop collecting; the loop reports it.
      failure ??= err;
      stop();
      return;
    }
    const now = performance.now();
    let ticked: Promise<void> | null = null;
    for (const p of probes.values()) {
      const idleMs = now - p.arrivedAt;
      if (idleMs >= PROBE_IDLE_MS && p.clockAtArrival !== null) {
        const to = p.clockAtArrival + Math.floor((idleMs - PROBE_IDLE_MS) * 1000);
        withProbe(p, () => p.pipeline.advanceTo(to));
        // Its turns on its own clock; the first tick starts the store's flush, the others join it.
        const t = p.pipeline.clock;
        if (t !== null) ticked = run.tick(t, { flush: true, source: p.id });
      }
    }
    (ticked ?? run.tick(null, { flush: true })).catch((err: unknown) => {
      // The store failed (disk full): stop collecting; what was committed stays.
      failure ??= err;
      stop();
    });
  }, TICK_MS);

  try {
    for await (const { batch, header } of wellFormedProbeBatches(listener.messages, refuse)) {
      const p = probeFor(header.probeId);
      if (p === null) {
        refuse('probe_too_many_probes', header.count);
        continue;
      }
      p.batches++;
      p.packets += header.count;
      p.bytes += batch.length;
      withProbe(p, () => forEachProbeFrame(batch, header.count, p.onFrame));
      p.arrivedAt = performance.now();
      p.clockAtArrival = p.pipeline.clock;
      // The run's clock is the newest of all probes'; the turn tracker moves on this probe's own.
      stats.lastTs = clock();
      const now = p.pipeline.clock;
      const own = { source: p.id };
      // Backpressure: while the store catches up the socket is not read; ZeroMQ's queues fill,
      // then the probes drop and count.
      if (parallel !== null) {
        // The clock moves where this batch's records end; the workers never hold the socket back
        // (a full queue drops, counted as pipeline_queue_full).
        parallel.chunkEnd(() => run.tick(now, own));
        await parallel.afterChunk();
        await run.tick(null);
      } else await run.tick(now, own);
    }
    clearInterval(timer);
    if (failure !== null) throw failure;
    if (parallel !== null) await parallel.finish();
    for (const p of probes.values()) withProbe(p, () => void p.pipeline.finish?.(captureSummary(p.packets, p.bytes), started));
    await run.endOfInput(clock());
  } catch (err) {
    clearInterval(timer);
    listener.close();
    await parallel?.close();
    return run.fail(err);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  run.source.state = 'stopped';
  if (!o.quiet) {
    const summary = totals(run, probes, started);
    const lines = [
      `  ${probes.size.toLocaleString('en-US')} probes: ${[...probes.values()].map((p) => `${p.id} ${p.packets.toLocaleString('en-US')} packets in ${p.batches.toLocaleString('en-US')} batches`).join(', ') || 'none connected'}`,
      `  dropped: ${dropped.batches.toLocaleString('en-US')} batches (${dropped.packets.toLocaleString('en-US')} packets), see the probe_* anomalies; the probes count their own send drops`,
    ];
    const text = formatRunSummary(`llmtap collect ${listener.endpoint}`, summary, run.sink, run.agents(), stats.undecryptedTls, lines);
    // The summary's first line names a capture format; probe batches have none of their own.
    process.stderr.write(text.replace(` (${summary.capture.format})\n`, ' (probe batches)\n'));
  }
  await run.close({ serveAfter: false });
}

function captureSummary(packets: number, bytes: number): CaptureFileSummary {
  return { format: 'pcap', packets, bytes, truncatedAt: null, stoppedAt: null, interfaces: [] };
}

/** The run's totals across probes (the pipelines share the run's counters). */
function totals(run: PipelineRun, probes: Map<string, ProbeState>, started: number): ReplaySummary {
  const s = run.stats;
  let packets = 0;
  let bytes = 0;
  for (const p of probes.values()) {
    packets += p.packets;
    bytes += p.bytes;
  }
  return summaryOf(captureSummary(packets, bytes), s, started, s.lastTs, undefined, { packets: s.packets, bytes: s.captureBytes });
}

/**
 * The health API's sources: the collector, then each probe (in the order they connected).
 *
 * The collector's entry (`probes@ENDPOINT`) keeps the run's state and error and what no probe
 * owns: packets of the batches it refused (malformed, past MAX_PROBES) and, with workers, the
 * pool's full-queue drops (the pool is shared, so no probe's). Its packets, bytes and calls are 0:
 * every packet it accepted is some probe's, and /metrics sums these entries per label, so the
 * collector carrying the totals too would count each packet twice in a `sum()` over sources. The
 * totals stay in health's `counts` and the llmtap_packets_total family.
 *
 * A probe's entry: its uuid (the `source` of its records), its packets, bytes and calls, and the
 * capture times of its first and latest packet on its own clock. The kernel and interface drops
 * are the probe's to count (it reports them itself, docs/probes.md), hence null here.
 */
export function sourceEntries(
  run: Pick<PipelineRun, 'source'> & { readonly stats: { readonly pipelineDrops: number } } | undefined,
  probes: ReadonlyMap<string, ProbeState>,
  refusedPackets: number,
): SourceHealth[] {
  // Read before openPipelineRun returned (nothing has arrived then): the collector alone.
  const state = run?.source.state ?? 'starting';
  const error = run?.source.error ?? null;
  const collector: SourceHealth = {
    id: run?.source.id ?? 'probes',
    kind: 'probe',
    state,
    packets: 0,
    bytes: 0,
    progress: null,
    drops: { kernel: null, interface: null, pipeline: refusedPackets + (run?.stats.pipelineDrops ?? 0) },
    first_packet: null,
    last_packet: null,
    error,
    calls: 0,
  };
  const iso = (t: Micros | null): string | null => (t === null ? null : isoMicros(t));
  return [
    collector,
    ...[...probes.values()].map(
      (p): SourceHealth => ({
        id: p.id,
        kind: 'probe',
        state,
        packets: p.packets,
        bytes: p.bytes,
        progress: null,
        drops: { kernel: null, interface: null, pipeline: 0 },
        first_packet: iso(p.firstTs),
        last_packet: iso(p.lastTs),
        error,
        calls: p.calls,
      }),
    ),
  ];
}
