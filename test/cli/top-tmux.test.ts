/**
 * Issue 9's check for `llmtap top`: run it in a real terminal (tmux: `new-session -d -x 160
 * -y 48`, `send-keys`, `capture-pane -p`) against a running `llmtap replay examples/demo.pcap
 * --db … --listen 127.0.0.1:0 --token …`, and read the screen: it shows the calls the API lists
 * (every id, in the API's order) and the per-model counts of the live metrics; selecting a call
 * and pressing Enter shows that call's detail; the screen follows a resize; a wrong token is
 * named on screen; q quits with exit status 0.
 *
 * Skips without tmux (`apt-get install tmux`), except under CI=true, where it fails instead.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveSnapshot } from '../../src/metrics/live-aggregates.js';
import type { CallListItem, Page } from '../../src/store/types.js';
import { repoRoot } from '../corpus.js';
import { ensureBuilt } from '../e2e/replay-cli.js';
import { cli, CliProcess } from './cli-process.js';

const hasTmux = spawnSync('tmux', ['-V'], { encoding: 'utf8' }).status === 0;
const inCi = process.env['CI'] === 'true';
const TOKEN = 'top-test-token-5f2c9a';
/** A private tmux server: never the user's own sessions. */
const SOCKET = `llmtap-top-test-${process.pid}`;
/** How long the screen may take to show what is awaited: start-up of Node, Ink and the first
 * refresh take about a second; a minute means it hangs (a bound, not a timing assertion). */
const SCREEN_TIMEOUT_MS = 60_000;

function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const screen = (pane: string): string => tmux('capture-pane', '-p', '-t', pane);

async function waitForScreen(pane: string, ok: (s: string) => boolean, what: string): Promise<string> {
  const until = Date.now() + SCREEN_TIMEOUT_MS;
  let last = '';
  while (Date.now() < until) {
    last = screen(pane);
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the screen never showed ${what}; last screen:\n${last}`);
}

/** Starts `llmtap top ARGS` in a new tmux session; when it exits the pane prints its status. */
function startTop(name: string, args: string[], size = { x: 160, y: 48 }): string {
  const quoted = [process.execPath, cli, 'top', ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  tmux('new-session', '-d', '-x', String(size.x), '-y', String(size.y), '-s', name, `${quoted}; echo "llmtap-top-exit=$?"; sleep 600`);
  return name;
}

let dir = '';
let replay: CliProcess | undefined;
let base = '';

beforeAll(async () => {
  if (!hasTmux) return;
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'llmtap-top-'));
  replay = new CliProcess(['replay', join(repoRoot, 'examples/demo.pcap'), '--db', join(dir, 'top.duckdb'), '--listen', '127.0.0.1:0', '--token', TOKEN]);
  base = (await replay.waitFor(/serving (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  await replay.waitFor(/capture drained; serving/);
}, 300_000);

afterAll(async () => {
  if (hasTmux) {
    // The server leaves its socket file behind when killed: remove it too.
    const socket = spawnSync('tmux', ['-L', SOCKET, 'display-message', '-p', '#{socket_path}'], { encoding: 'utf8' }).stdout.trim();
    spawnSync('tmux', ['-L', SOCKET, 'kill-server']);
    if (socket.endsWith(SOCKET)) rmSync(socket, { force: true });
  }
  await replay?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

describe.runIf(!hasTmux && inCi)('llmtap top in tmux', () => {
  it('needs tmux in CI (apt-get install tmux)', () => {
    expect.fail('tmux is not installed: the llmtap top check cannot run');
  });
});

describe.skipIf(!hasTmux)('llmtap top in tmux', () => {
  it('shows the calls the API lists, a selected call\'s detail, follows a resize, and quits with q', async () => {
    const calls = (await api<Page<CallListItem>>('/api/v1/calls?limit=500')).items;
    const live = await api<LiveSnapshot>('/api/v1/metrics/live?window=1m&by=model');
    expect(calls).toHaveLength(21);

    const pane = startTop('main', ['--url', base, '--token', TOKEN]);
    const first = await waitForScreen(pane, (s) => calls.every((c) => s.includes(c.id)), 'every call id');
    const lines = first.split('\n');
    // Every call of the API, in its order (newest first), the newest selected.
    const rows = calls.map((c) => lines.findIndex((l) => l.includes(c.id)));
    expect([...rows].sort((a, b) => a - b)).toEqual(rows);
    expect(lines[rows[0]!]).toMatch(/^› /);
    expect(first).toContain('● connected');
    expect(first).toContain(`calls ${live.total.calls} in 1m`);
    for (const s of live.series) {
      const model = s.labels['model']!;
      const row = lines.find((l) => l.trimStart().startsWith(`${model} `));
      expect(row, model).toBeDefined();
      expect(row!.trim().split(/\s{2,}/)[1]).toBe(String(s.stats.calls));
    }
    expect(first).toContain('no process attribution');

    // j j Enter: the third call's detail.
    tmux('send-keys', '-t', pane, 'j');
    tmux('send-keys', '-t', pane, 'j');
    await waitForScreen(pane, (s) => s.split('\n')[rows[2]!]!.startsWith('› '), 'the third call selected');
    tmux('send-keys', '-t', pane, 'Enter');
    const chosen = calls[2]!;
    const detail = await waitForScreen(pane, (s) => s.includes(`CALL ${chosen.id}`) && /^\s+tokens\s/m.test(s), 'the detail of the third call');
    const field = (name: string): string => detail.split('\n').find((l) => l.trimStart().startsWith(`${name} `)) ?? '';
    expect(field('model')).toContain(chosen.response_model ?? chosen.request_model ?? '');
    expect(field('status')).toContain(String(chosen.status_code));
    expect(field('tokens')).toContain(`in ${chosen.usage.input_tokens!.toLocaleString('en-US')}`);
    expect(field('process')).toContain('not known for captured traffic');
    expect(detail).not.toContain(calls[0]!.id);

    // Back to the list, then a narrower terminal: the screen is redrawn to fit it.
    tmux('send-keys', '-t', pane, 'Escape');
    await waitForScreen(pane, (s) => s.includes(calls[0]!.id), 'the list again');
    tmux('resize-window', '-t', pane, '-x', '100', '-y', '30');
    const narrow = await waitForScreen(pane, (s) => !s.includes(calls[0]!.id) && s.includes('LATEST CALLS'), 'the narrow layout');
    for (const l of narrow.split('\n')) expect(l.length).toBeLessThanOrEqual(100);

    tmux('send-keys', '-t', pane, 'q');
    const after = await waitForScreen(pane, (s) => /llmtap-top-exit=\d+/.test(s), 'the exit status');
    expect(after).toMatch(/llmtap-top-exit=0/);
  }, 180_000);

  it('a wrong token is named on screen (and retried), never echoed', async () => {
    const pane = startTop('badtoken', ['--url', base, '--token', 'wrong-token-xyz']);
    const s = await waitForScreen(pane, (x) => x.includes('(401)'), 'the 401');
    expect(s).toContain(`✗ ${base} refused the token (401): check --token / LLMTAP_TOKEN · retrying in`);
    expect(s).not.toContain('wrong-token-xyz');
    tmux('send-keys', '-t', pane, 'q');
    expect(await waitForScreen(pane, (x) => /llmtap-top-exit=\d+/.test(x), 'the exit status')).toMatch(/llmtap-top-exit=0/);
  }, 120_000);
});
