/**
 * What every record-producing command shares (DESIGN §6: "every subcommand that produces records
 * takes the same output options"): the configuration, JSONL, the store and the API with its live
 * feed, metrics/OTLP/alerts (observers), the agent-turn tracker, the clock ticks that move them,
 * the end-of-input flush and the summary. `replay` and `capture` only feed it packets.
 */
import { readFileSync } from 'node:fs';
import { agentCallInput, type AgentCallInput } from '../agents/profiles.js';
import { TurnTracker, type TurnTrackerOptions } from '../agents/turn-tracker.js';
import type { SourceHealth } from '../api/types.js';
import { CaptureError } from '../capture/capture-error.js';
import type { ConfigFlags } from '../config/flags.js';
import type { LlmtapConfig, TurnsConfig } from '../config/types.js';
import type { AlertRecord, LlmCallRecord } from '../core/record.js';
import type { Micros } from '../core/time.js';
import { configurePricing } from '../cost/call-pricer.js';
import { JsonlWriter } from '../pipeline/jsonl-writer.js';
import { Observers } from '../pipeline/observers.js';
import type { PipelineOptions, ReplaySummary } from '../pipeline/replay.js';
import { PipelineStats } from '../pipeline/stats.js';
import { StoreSink } from '../pipeline/store-sink.js';
import { DEFAULT_FINGERPRINT_SALT } from '../redact/secrets.js';
import type { KeyLog } from '../tls/index.js';
import type { ParallelOptions } from '../workers/parallel-pipeline.js';
import { resolveConfig, type ConfigOption } from './config-options.js';
import { asUserError, UserError } from './errors.js';
import { healthOf, type FileSourceState } from './health.js';
// The database and the HTTP server load only when used: a pure --jsonl conversion starts faster.
import type { Serving } from './serving.js';
import type { Telemetry } from './telemetry.js';

/** The output options every record-producing command takes. */
export interface OutputCommandOptions extends ConfigOption, ConfigFlags {
  jsonl?: string;
  exchanges?: boolean;
  source?: string;
  quiet?: boolean;
  exitAfterDrain?: boolean;
  token?: string;
  insecureNoToken?: boolean;
  tlsKeylog?: string;
}

export interface RunSetup {
  /** Source id carried on every record. */
  sourceId: string;
  /** The health API's view of the source, from the file-shaped one healthOf makes (a live
   * source adds its kind and drop counters). */
  describeSource?: (s: SourceHealth) => SourceHealth;
  /** Follow `--tls-keylog` as it grows (a live source: clients append keys as they connect). */
  followKeyLog?: boolean;
  /** Several sources (`llmtap run`): the health API lists these instead of the one source; called
   * at each health read, before the run's totals are read (it may refresh them first). */
  sources?: () => SourceHealth[];
}

/** Worker-thread runs (src/workers): their options, everything but what the command feeds. */
export type WorkerRunOptions = ParallelOptions & {
  source: string;
  stats: PipelineStats;
  atChunkEnd?: (now: Micros | null) => Promise<void>;
  afterChunk?: () => Promise<void>;
};

/** Options for the capture pipeline, everything but what the command feeds. */
export type RunPipelineOptions = PipelineOptions & { afterChunk?: () => Promise<void> };

export interface PipelineRun {
  readonly config: LlmtapConfig;
  readonly stats: PipelineStats;
  readonly source: FileSourceState;
  readonly sink: StoreSink | null;
  readonly serving: Serving | null;
  /** Hand these to createCapturePipeline / replayFile / replayStream. */
  readonly pipeline: RunPipelineOptions;
  /** The same outputs for worker threads (src/workers), `workers` of them; `live`: a full queue
   * drops packets instead of holding the input back. */
  workerOptions(workers: number, live: boolean): WorkerRunOptions;
  /**
   * The capture clock moved to `now` (null: unknown yet): idle sessions close and windows slide
   * on it, then the store and the span queue get room. Serialised: a call made while the last
   * one is still writing joins it. `flush` writes whatever waits (an idle live source shows its
   * calls at once instead of after the store's 1 s batch bound). `source`: the clock of that
   * source moved (the turn tracker, the metric windows and the alert rules keep a clock per
   * source, DESIGN §1; without one every source's clock moves).
   */
  tick(now: Micros | null, o?: { flush?: boolean; source?: string }): Promise<void>;
  /** End of input: every turn, the last store batch, pending exports (DESIGN §5). */
  endOfInput(lastTs: Micros | null): Promise<void>;
  /** The run failed: close what is open, keep what was committed, rethrow as one clear line. */
  fail(err: unknown): Promise<never>;
  /** The summary's agent line, when turns are tracked. */
  agents(): { turns: number; sessions: number } | null;
  log(line: string): void;
  /** After the summary: serve until interrupted (unless --exit-after-drain), then close. */
  close(o: { serveAfter: boolean; drainedLine?: string }): Promise<void>;
}

/** The store's hook for turn records (snapshots while in progress, then the final one). */
type TurnSink = Pick<StoreSink, 'addTurn'>;

export async function openPipelineRun(o: OutputCommandOptions, setup: RunSetup): Promise<PipelineRun> {
  // The configuration and the flags are checked before anything is opened.
  const config = await resolveConfig(o);
  const pureConversion = o.jsonl !== undefined && config.db === null && config.listen === null;
  const turnSettings = config.turns.enabled ? trackerSettings(config.turns) : null;
  const keyLog = o.tlsKeylog === undefined ? null : setup.followKeyLog ? await followKeyLog(o.tlsKeylog) : { keys: await loadKeyLog(o.tlsKeylog), stop: () => undefined };
  const tlsKeys = keyLog?.keys;
  const writer = o.jsonl !== undefined ? openJsonl(o.jsonl) : null;
  const stats = new PipelineStats();
  const source: FileSourceState = { id: setup.sourceId, stats, state: 'running', error: null };
  // Metrics, OTLP, alerts and budgets see each record as it is written (DESIGN §1, main thread).
  // A pure conversion has no API to show metrics on: only what the configuration sends out.
  const log = (line: string): void => void process.stderr.write(`llmtap: ${line}\n`);
  // Without --listen (replay --db --exit-after-drain) nothing reads the live aggregates and
  // instruments either: only configured exports, alert rules and budgets need the observers.
  const listen = pureConversion ? false : (config.listen ?? (o.exitAfterDrain ? false : '127.0.0.1:3000'));
  const needed = listen !== false || config.otlp !== null || config.alerts.length > 0 || config.budgets.length > 0;
  // Loaded only when used: the OpenTelemetry SDK costs a pure conversion ~0.2 s of start-up.
  let sink: StoreSink | null = null;
  let serving: Serving | null = null;
  // Once the input has drained nothing drains the sink and the JSONL is closed: an alert
  // raised while serving (a posted score firing its rule) goes straight to the store, one
  // write after another (a resolution must not overtake its firing).
  let storedAfterDrain: Promise<void> | null = null;
  const onAlert = (a: AlertRecord): void => {
    if (storedAfterDrain === null) {
      writer?.write(a);
      sink?.addAlert(a);
      return;
    }
    const store = serving?.store;
    if (store === undefined) return;
    storedAfterDrain = storedAfterDrain
      .then(() => store.insertAlert(a))
      .catch((err: unknown) => log(`cannot store alert ${a.id} (${a.rule}): ${err instanceof Error ? err.message : String(err)}`));
  };
  // Each source as the health API lists it: several (`llmtap run`), or the command's one.
  const sourceList = (): SourceHealth[] => {
    const listed = setup.sources?.();
    if (listed !== undefined) return listed;
    const one = healthOf(source, null).sources.map((s) => ({ ...s, calls: stats.calls }));
    return setup.describeSource ? one.map(setup.describeSource) : one;
  };
  const telemetry: Telemetry | null = needed ? (await import('./telemetry.js')).openTelemetry(config, { stats, log, onAlert, sources: sourceList }) : null;
  const observers = telemetry?.observers ?? new Observers([]);
  if (!pureConversion) {
    const { openServing } = await import('./serving.js');
    serving = await openServing({
      ...(config.db !== null ? { db: config.db } : {}),
      retention: config.retention,
      listen,
      ...tokenOptions(o),
      // The sources first: `llmtap run` refreshes the run's totals when listing them.
      health: () => {
        const sources = sourceList();
        return { ...healthOf(source, sink, telemetry), sources };
      },
      ...(telemetry ? { metrics: { live: telemetry.live, instruments: telemetry.instruments } } : {}),
      // Scores posted while the capture runs reach the alert rules on scores.
      onAnnotation: (a) => observers.onAnnotation(a),
    });
    // Budget notices already sent this period are not sent again after a restart.
    if (telemetry?.alerting) telemetry.alerting.seed((await serving.store.listAlerts({ rule_kind: ['budget'] }, { limit: 1000 })).items);
    const live = serving.liveFeed;
    sink = new StoreSink(
      serving.store,
      (calls) => {
        for (const c of calls) live.publish(c);
      },
      (turns) => {
        for (const t of turns) live.publishTurn(t);
      },
    );
    if (!o.quiet) {
      process.stderr.write(`llmtap: storing into ${serving.dbPath}${serving.url ? `, serving ${serving.url}` : ''}\n`);
    }
  }

  let writerOpen = writer !== null;
  const closeWriter = (): void => {
    if (!writerOpen) return;
    writerOpen = false;
    writer?.close();
  };
  const tracker = turnSettings === null ? null : openTracker(stats, turnSettings, writer, sink, observers);
  let ticking: Promise<void> | null = null;
  // True once a tick named its source (`run`, `collect`): each source's clock then ends where
  // its own input ended.
  let clocksBySource = false;
  const tick = (now: Micros | null, t: { flush?: boolean; source?: string } = {}): Promise<void> => {
    // Capture time moves on between calls too: idle sessions close and windows slide on the
    // packet clock, each source's on its own (DESIGN §1).
    if (now !== null) {
      if (t.source !== undefined) clocksBySource = true;
      tracker?.advance(now, t.source);
      telemetry?.onTime(now, t.source);
    }
    if (ticking !== null) return ticking;
    const store = sink === null ? undefined : t.flush ? sink.flush() : sink.drain();
    const p = Promise.all([store, telemetry?.drain()]).then(
      () => {
        ticking = null;
      },
      (err: unknown) => {
        ticking = null;
        throw err;
      },
    );
    ticking = p;
    return p;
  };
  const onCall = (r: LlmCallRecord, store: () => void, input: () => AgentCallInput): void => {
    const write = (): void => {
      writer?.write(r);
      store();
      observers.onCall(r);
    };
    if (tracker === null) return write();
    // The tracker annotates the call (agent, session, turn), has it written, then emits turns.
    tracker.add(input(), write);
  };
  const pipeline: RunPipelineOptions = {
    source: source.id,
    stats,
    fingerprintSalt: config.fingerprint_salt ?? DEFAULT_FINGERPRINT_SALT,
    attributes: config.attributes,
    ...(tlsKeys ? { tlsKeys } : {}),
    pricer: configurePricing(config.pricing),
    onCall: (r, ex, call) => onCall(r, () => sink?.addCall(r, ex), () => agentCallInput(r, ex, call)),
    ...(o.exchanges || sink
      ? {
          onOtherExchange: (r, ex) => {
            if (o.exchanges) writer?.write(r);
            sink?.addOther(r, ex);
          },
        }
      : {}),
    ...(sink || tracker || observers.size > 0 ? { afterChunk: () => tick(stats.lastTs) } : {}),
  };

  const workerOptions = (workers: number, live: boolean): WorkerRunOptions => ({
    workers,
    live,
    source: source.id,
    stats,
    // As the in-thread afterChunk (tick(stats.lastTs)), split in two: the clock moves where the
    // records of the packets read so far end (the packets read are ahead of the records
    // released), and the store's backpressure after each read.
    ...(pipeline.afterChunk ? { atChunkEnd: (now: Micros | null) => tick(now), afterChunk: () => tick(null) } : {}),
    init: {
      fingerprintSalt: pipeline.fingerprintSalt,
      attributes: config.attributes,
      pricing: config.pricing,
      storedExchanges: sink !== null,
      keyLog: o.tlsKeylog === undefined ? null : { path: o.tlsKeylog, follow: setup.followKeyLog === true },
    },
    outputs: {
      onCall: (r, stored, input) =>
        onCall(
          r,
          () => {
            if (sink !== null && stored !== null) sink.addStoredCall(r, stored);
          },
          () => input,
        ),
      ...(o.exchanges || sink
        ? {
            onOtherExchange: (r, stored) => {
              if (o.exchanges) writer?.write(r);
              if (sink !== null && stored !== null) sink.addStoredOther(stored);
            },
          }
        : {}),
    },
  });

  return {
    config,
    stats,
    source,
    sink,
    serving,
    pipeline,
    workerOptions,
    tick,
    log,
    agents: () => (tracker ? { turns: tracker.turns, sessions: tracker.sessionCount } : null),
    endOfInput: async (lastTs) => {
      keyLog?.stop();
      // A tick still writing finishes first: batches stay in order.
      await ticking;
      // End of input flushes every turn (DESIGN §5), before the last store batch; the capture
      // clock's last tick lets windows slide to the end of the input. With a clock per source,
      // each is already where its own input ended: moving all to `lastTs` (the newest) would
      // slide a source behind to a time it never reached, clearing its incidents there.
      tracker?.flush();
      if (lastTs !== null && !clocksBySource) telemetry?.onTime(lastTs);
      // Alerts are raised synchronously (onCall, onTime above) and are in the sink already: the
      // last batch is committed before the exports wait on the network (a dead webhook or
      // collector holds the end of input up to their close deadlines, 15 s and 10 s).
      await sink?.flush();
      storedAfterDrain = Promise.resolve();
      await telemetry?.endOfInput();
      closeWriter();
    },
    fail: async (err) => {
      keyLog?.stop();
      // Whatever was decoded and committed before the failure stays: close cleanly and say why.
      closeWriter();
      source.state = 'error';
      await telemetry?.close();
      await serving?.close().catch(() => undefined);
      if (err instanceof CaptureError) throw new UserError(err.message);
      throw asUserError(err);
    },
    close: async ({ serveAfter, drainedLine }) => {
      closeWriter();
      if (serving?.url && serveAfter && !o.exitAfterDrain) {
        if (!o.quiet && drainedLine !== undefined) process.stderr.write(`llmtap: ${drainedLine}; serving ${serving.url} until interrupted (Ctrl-C)\n`);
        const { untilInterrupted } = await import('./serving.js');
        await untilInterrupted();
      }
      // The metrics stay readable while serving; their last OTLP push is now.
      await telemetry?.close();
      await storedAfterDrain;
      await serving?.close();
    },
  };
}

type TrackerSettings = Pick<TurnTrackerOptions, 'idleTimeoutMs' | 'stallMs' | 'loopCount'>;

function trackerSettings(t: TurnsConfig): TrackerSettings {
  // null: the tracker's own default.
  return {
    ...(t.idle_timeout_ms !== null ? { idleTimeoutMs: t.idle_timeout_ms } : {}),
    ...(t.stall_threshold_ms !== null ? { stallMs: t.stall_threshold_ms } : {}),
    ...(t.loop_threshold !== null ? { loopCount: t.loop_threshold } : {}),
  };
}

function openTracker(
  stats: PipelineStats,
  settings: TrackerSettings,
  writer: JsonlWriter | null,
  store: TurnSink | null,
  observers: Observers,
): TurnTracker {
  return new TurnTracker({
    anomalies: stats.anomalies,
    // In-progress snapshots only matter to a live store; JSONL gets each turn once, final.
    snapshots: store !== null,
    ...settings,
    onTurn: (turn, final) => {
      if (final) writer?.write(turn);
      store?.addTurn(turn);
      observers.onTurn(turn, final);
    },
  });
}

/** A key log followed as clients append to it (live capture). It need not exist yet: a client
 * started after llmtap creates it. */
async function followKeyLog(path: string): Promise<{ keys: KeyLog; stop(): void }> {
  const { KeyLog } = await import('../tls/index.js');
  const keys = new KeyLog();
  const follower = keys.followFile(path);
  await follower.ready;
  return { keys, stop: () => follower.stop() };
}

/** The key log as it is now (a file replay's keys are all written by the time it is read). */
async function loadKeyLog(path: string): Promise<KeyLog> {
  const { KeyLog } = await import('../tls/index.js');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read the TLS key log ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const keys = new KeyLog();
  keys.addText(text);
  if (keys.size === 0) throw new UserError(`${path} holds no TLS secrets (expected NSS key log lines: CLIENT_RANDOM …, CLIENT_TRAFFIC_SECRET_0 …)`);
  return keys;
}

function openJsonl(path: string): JsonlWriter {
  try {
    return new JsonlWriter(path);
  } catch (err) {
    throw new UserError(`cannot write ${path}: ${(err as Error).message}`);
  }
}

export function tokenOptions(o: { token?: string; insecureNoToken?: boolean }): { token?: string; insecure?: boolean } {
  const token = o.token ?? process.env['LLMTAP_TOKEN'];
  if (o.insecureNoToken) {
    process.stderr.write('llmtap: WARNING: --insecure-no-token: the API and console are open to anyone who can reach this address\n');
  }
  return { ...(token ? { token } : {}), ...(o.insecureNoToken ? { insecure: true } : {}) };
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

/** A source of byte streams rather than packets (the proxy): `label` replaces the capture format
 * in the first line, and its bytes are counted as `bytesWord` (`proxied`), its rate in exchanges. */
export interface ByteStreamSummary {
  label: string;
  bytesWord: string;
}

/** The end-of-run summary (stderr). `title` names the command and input; `extra` lines (a live
 * source's drops) come after the throughput line. */
export function formatRunSummary(
  title: string,
  s: ReplaySummary,
  sink: StoreSink | null = null,
  agents: { turns: number; sessions: number } | null = null,
  undecrypted: PipelineStats['undecryptedTls'] | null = null,
  extra: string[] = [],
  byteStream: ByteStreamSummary | null = null,
): string {
  const secs = s.elapsedMs / 1000;
  const mb = s.captureBytes / 1e6;
  const rate = (x: number): string => n(Math.round(x / Math.max(secs, 1e-6)));
  const lines = [
    `${title} (${byteStream?.label ?? s.capture.format})`,
    byteStream
      ? `  ${mb.toFixed(1)} MB ${byteStream.bytesWord}, ${n(s.exchanges)} HTTP exchanges`
      : `  ${n(s.packets)} packets, ${mb.toFixed(1)} MB, ${n(s.connections)} TCP connections, ${n(s.exchanges)} HTTP exchanges`,
    `  ${n(s.calls)} LLM calls, ${n(s.otherExchanges)} other exchanges`,
    ...(agents ? [`  ${n(agents.turns)} agent turns in ${n(agents.sessions)} sessions`] : []),
    `  ${secs.toFixed(2)} s, ${(mb / Math.max(secs, 1e-6)).toFixed(1)} MB/s, ${byteStream ? `${rate(s.exchanges)} exchanges/s` : `${rate(s.packets)} packets/s`}`,
    ...extra,
  ];
  if (sink) {
    const dup = s.calls - sink.callsInserted;
    lines.push(`  stored ${n(sink.callsInserted)} new calls${dup > 0 ? ` (${n(dup)} already in the database)` : ''}`);
  }
  if (undecrypted && undecrypted.size > 0) {
    const total = [...undecrypted.values()].reduce((a, e) => a + e.connections, 0);
    const names = [...undecrypted].sort((a, b) => b[1].connections - a[1].connections).slice(0, 5);
    const more = undecrypted.size > names.length ? `, and ${n(undecrypted.size - names.length)} more` : '';
    lines.push(
      `  ${n(total)} TLS connections not decrypted (no keys, or see anomalies): ${names.map(([name, e]) => `${name} ${n(e.connections)}`).join(', ')}${more}`,
    );
  }
  if (s.anomalies.length > 0) {
    lines.push(`  anomalies: ${s.anomalies.map(([name, count]) => `${name} ${n(count)}`).join(', ')}`);
  }
  if (s.capture.truncatedAt !== null) {
    lines.push(`  the capture ends mid-packet at byte ${n(s.capture.truncatedAt)} (truncated file): every complete packet before it was read`);
  }
  if (s.capture.stoppedAt !== null) {
    lines.push(`  reading stopped at byte ${n(s.capture.stoppedAt)}: the file is damaged there`);
  }
  return `${lines.join('\n')}\n`;
}
