/**
 * One real-agent scenario: start the scripted server, capture loopback with tcpdump, run the
 * agent CLI once per prompt (each later prompt continuing the same conversation), stop the
 * capture, replay it with the built llmtap CLI, and keep everything for the assertions. The
 * server's request log is also written (redacted) into the scratch folder, for OBSERVED.md.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentTurnRecord, LlmCallRecord } from '../../src/core/record.js';
import { pidAlive } from '../e2e/netns.js';
import { ensureBuilt, replayCapture, type ReplayOutput } from '../e2e/replay-cli.js';
import { startTcpdump, type CaptureResult } from '../e2e/tcpdump.js';
import { startAgentServer, type ObservedRequest } from './agent-server.js';
import type { Script } from './scripted-answers.js';
import { clientCommand, scratchDir } from './install.js';
import { summariseRequest } from './observations.js';
import { runClient, type ClientRun } from './run-client.js';
import { CLIENT_PACKAGES, type ClientName } from './versions.js';

const keep = process.env['LLMTAP_CLIENTS_KEEP'] === '1';

export interface ScenarioSpec {
  client: ClientName;
  /** What the server answers (scripted-answers.ts); default `shell`. */
  script?: Script;
  /** Name of the observation file (`.scratch/observed/<name>.json`); default the client's. */
  name?: string;
  /** Prepares the agent's HOME (config files) for a server on `port`. */
  setupHome(home: string, port: number): void;
  /** Environment for the CLI: base URL, dummy key, switches that keep it off the internet. */
  env(home: string, port: number): Record<string, string>;
  /** CLI arguments for prompt `index` (0-based); index > 0 continues the conversation. */
  args(prompt: string, index: number): string[];
  prompts: string[];
  /** The dummy key the CLI sends: it must be in the capture and nowhere in llmtap's output. */
  apiKey: string;
}

export interface PromptRun {
  label: string;
  prompt: string;
  run: ClientRun;
  /** Every request the server got while this prompt ran. */
  requests: ObservedRequest[];
}

export interface ScenarioResult {
  runs: PromptRun[];
  log: readonly ObservedRequest[];
  capture: CaptureResult;
  /** Whether the dummy key is in the capture (read before the work directory goes): the check
   * that llmtap's output lacks it means something only then. */
  keyInCapture: boolean;
  replay: ReplayOutput;
  turns: AgentTurnRecord[];
  calls: LlmCallRecord[];
  durationMs: number;
}

/** Work directories carry the test process's pid; those of killed runs are removed here. Kept
 * ones (LLMTAP_CLIENTS_KEEP=1) are named so that this never removes them. */
function makeWorkDir(client: ClientName): string {
  for (const name of readdirSync(tmpdir())) {
    const m = /^llmtap-clients-\w+-(\d+)-/.exec(name);
    if (m && !pidAlive(Number(m[1]))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  return mkdtempSync(join(tmpdir(), keep ? `llmtap-clients-kept-${client}-` : `llmtap-clients-${client}-${process.pid}-`));
}

export async function runScenario(spec: ScenarioSpec): Promise<ScenarioResult> {
  const started = Date.now();
  ensureBuilt();
  const dir = makeWorkDir(spec.client);
  const home = join(dir, 'home');
  const work = join(dir, 'work');
  mkdirSync(home, { recursive: true });
  mkdirSync(work, { recursive: true });
  const server = await startAgentServer(spec.script ?? 'shell');
  const pcap = join(dir, `${spec.client}.pcap`);
  const capture = await startTcpdump('lo', `tcp port ${server.port}`, pcap);
  try {
    spec.setupHome(home, server.port);
    const cmd = clientCommand(spec.client);
    const runs: PromptRun[] = [];
    for (const [i, prompt] of spec.prompts.entries()) {
      const label = `prompt ${i + 1}`;
      server.setLabel(label);
      const before = server.log.length;
      const run = await runClient(cmd, spec.args(prompt, i), work, { HOME: home, ...spec.env(home, server.port) });
      runs.push({ label, prompt, run, requests: server.log.slice(before) });
      if (run.code !== 0) break;
    }
    const captured = await capture.stop();
    const replay = replayCapture(pcap, join(dir, `${spec.client}.jsonl`));
    const turns: AgentTurnRecord[] = [];
    for (const line of replay.text.split('\n')) {
      if (line.trim() === '') continue;
      const rec = JSON.parse(line) as { kind?: unknown };
      if (rec.kind === 'agent_turn') turns.push(rec as AgentTurnRecord);
    }
    writeObservations(spec.client, spec.name ?? spec.client, server.log);
    if (keep) process.stderr.write(`real agents: keeping ${dir}\n`);
    const keyInCapture = readFileSync(pcap).includes(spec.apiKey);
    return { runs, log: server.log, capture: captured, keyInCapture, replay, turns, calls: replay.calls, durationMs: Date.now() - started };
  } finally {
    capture.kill();
    await server.close();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** `.scratch/observed/<client>.json`: what the CLI sent, redacted, for updating OBSERVED.md. */
function writeObservations(client: ClientName, name: string, log: readonly ObservedRequest[]): void {
  const out = join(scratchDir, 'observed');
  mkdirSync(out, { recursive: true });
  const pkg = CLIENT_PACKAGES[client];
  const doc = { client: `${pkg.name}@${pkg.version}`, requests: log.map(summariseRequest) };
  writeFileSync(join(out, `${name}.json`), `${JSON.stringify(doc, null, 2)}\n`);
}
