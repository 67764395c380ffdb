/**
 * `llmtap doctor` as a user runs it: on this machine (what it finds must match what the machine
 * has), with a PATH that has no tcpdump (a FAIL with the install line, exit 1), and, when this
 * machine can capture, a sample taken while real SDK calls run finds their port.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { isLlmProviderHost, LlmTrafficFinder } from '../../src/cli/doctor-command.js';
import { replayFile } from '../../src/pipeline/replay.js';
import { repoRoot } from '../corpus.js';
import { startLlmServer } from '../e2e/llm-server.js';
import { ensureBuilt } from '../e2e/replay-cli.js';
import { runAnthropicCalls } from '../e2e/sdk-calls.js';
import { commandExists } from '../e2e/tcpdump.js';
import { cli, runCli } from './cli-process.js';

const canCapture = process.getuid?.() === 0 && commandExists('tcpdump');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('llmtap doctor', () => {
  test('on this machine: the checks match what it has, and the exit code says whether capture works', () => {
    ensureBuilt();
    const r = runCli(['doctor', '--sample', '1']);
    expect(r.stdout).toMatch(/^llmtap doctor: /);
    if (commandExists('tcpdump')) expect(r.stdout).toMatch(/ {2}ok {4}tcpdump: \/\S*tcpdump \(tcpdump version \d/);
    expect(r.stdout).toMatch(/ {2}(ok {2}|FAIL|info) {2}interfaces: .*\blo \(/);
    if (canCapture) {
      expect(r.stdout).toMatch(/ {2}ok {4}capture: 1 s on any: \d+ packets, kernel drops \d+/);
      expect(r.stdout).toContain('live capture can work here');
      expect(r.code).toBe(0);
    } else {
      expect(r.stdout).toMatch(/FAIL/);
      expect(r.stdout).toMatch(/ {8}fix: /);
      expect(r.code).toBe(1);
    }
  });

  test('without tcpdump on PATH: a FAIL that says how to install it, exit 1', () => {
    ensureBuilt();
    const bin = mkdtempSync(join(tmpdir(), 'llmtap-doctor-'));
    dirs.push(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    const r = runCli(['doctor'], { ...process.env, PATH: bin, LLMTAP_CAPTURE_PROGRAM: '' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('  FAIL  tcpdump: not found on PATH\n        fix: install it: apt install tcpdump');
    expect(r.stdout).toContain('live capture cannot work here yet');
    // No sample is attempted without a capture program.
    expect(r.stdout).not.toMatch(/^ {2}\S+ +capture: /m);
  });

  test('an interface that does not exist fails with the list to pick from', () => {
    ensureBuilt();
    const r = runCli(['doctor', '-i', 'llmtap-nosuch0', '--sample', '0']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL {2}interfaces: .*\n {8}fix: no interface llmtap-nosuch0 here/);
  });

  test.skipIf(!canCapture)('a sample taken while SDK calls run names their port', async () => {
    ensureBuilt();
    const server = await startLlmServer({ host: '127.0.0.1', port: 0 });
    try {
      const child = spawn(process.execPath, [cli, 'doctor', '-i', 'lo', '--sample', '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      // Calls start once the sample does (tcpdump is listening when "interfaces" is printed and
      // the sample begins right after; the calls repeat until the sample ends to be sure).
      while (!out.includes('interfaces:')) await new Promise((r) => setTimeout(r, 50));
      let done = false;
      void exited.then(() => (done = true));
      while (!done) await runAnthropicCalls(`http://127.0.0.1:${server.port}`);
      expect(await exited).toBe(0);
      expect(out).toMatch(new RegExp(`info {2}LLM-looking traffic: .*127\\.0\\.0\\.1:${server.port}: anthropic\\.messages \\(HTTP`));
    } finally {
      await server.close();
    }
  }, 60_000);
});

/** One Anthropic Messages call over `agent`; `beforeEnd` runs between the first half of the body
 * and the rest (each half its own write, so its own segment). Resolves with the status. */
function anthropicCall(port: number, agent: Agent, beforeEnd: () => Promise<void> = async () => undefined): Promise<number> {
  // A JSON body: it ends without a newline, like every SDK's.
  const body = Buffer.from(JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: `${'context '.repeat(2000)}Reply with 20 words.` }] }));
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, agent, method: 'POST', path: '/v1/messages', headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-api-key': 'sk-ant-test-doctor-0123456789abcdefghijKLMNOP', 'anthropic-version': '2023-06-01' } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', reject);
    });
    req.once('error', reject);
    const half = body.length >> 1;
    req.write(body.subarray(0, half));
    void beforeEnd().then(async () => {
      req.write(body.subarray(half, half + 100));
      await new Promise((r) => setTimeout(r, 100));
      req.end(body.subarray(half + 100));
    }, reject);
  });
}

/** Resolves once a tcpdump started by process `parent` holds a packet socket (it then sets its
 * filter and captures within milliseconds). */
async function tcpdumpCapturing(parent: number): Promise<void> {
  const packetInodes = (): Set<string> => new Set(readFileSync('/proc/net/packet', 'utf8').split('\n').slice(1).map((l) => l.trim().split(/\s+/)[8] ?? '').filter((i) => i !== ''));
  for (;;) {
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        if (!/\((tcpdump|llmtap-capture)\)/.test(stat) || Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== parent) continue;
        const inodes = packetInodes();
        for (const fd of readdirSync(`/proc/${pid}/fd`)) {
          const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
          if (m && inodes.has(m[1]!)) return;
        }
      } catch {
        // a process that ended meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!canCapture)('llmtap doctor joining a keep-alive connection', () => {
  test('a sample that starts in the middle of a request still finds the calls after it on that connection', async () => {
    // An agent's client keeps one connection and writes each request right after the last
    // response; a capture started while a request body is in flight sees its tail first.
    ensureBuilt();
    const server = await startLlmServer({ host: '127.0.0.1', port: 0 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await anthropicCall(server.port, agent)).toBe(200); // the connection opens before the sample
      const child = spawn(process.execPath, [cli, 'doctor', '-i', 'lo', '--sample', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      let done = false;
      void exited.then(() => (done = true));
      // The rest of this request's body is the first the capture sees of the connection (0.3 s
      // after tcpdump's socket exists: its filter is set by then).
      const capturing = async (): Promise<void> => {
        await tcpdumpCapturing(child.pid!);
        await new Promise((r) => setTimeout(r, 300));
      };
      expect(await anthropicCall(server.port, agent, capturing)).toBe(200);
      while (!done) expect(await anthropicCall(server.port, agent)).toBe(200);
      expect(await exited).toBe(0);
      expect(out).toMatch(new RegExp(`info {2}LLM-looking traffic: .*127\\.0\\.0\\.1:${server.port}: anthropic\\.messages \\(HTTP`));
    } finally {
      agent.destroy();
      await server.close();
    }
  }, 60_000);
});

describe('what the sample counts as LLM traffic', () => {
  test('the demo capture: every server port that carried a decoded call', async () => {
    const finder = new LlmTrafficFinder();
    const ports = new Set<string>();
    const s = await replayFile(join(repoRoot, 'examples', 'demo.pcap'), {
      ...finder.options('demo'),
      onCall: (r, ex, call) => {
        ports.add(`${r.server.ip}:${r.server.port}`);
        finder.options('demo').onCall(r, ex, call);
      },
    });
    expect(s.calls).toBeGreaterThan(0);
    expect(new Set(finder.ports.keys())).toEqual(ports);
    expect(finder.lines().every((l) => / \(\d+ connections? or calls?\)$/.test(l))).toBe(true);
  });

  test('provider server names, and look-alikes that are not', () => {
    for (const sni of ['api.openai.com', 'API.Anthropic.com.', 'generativelanguage.googleapis.com', 'us-central1-aiplatform.googleapis.com', 'bedrock-runtime.us-east-1.amazonaws.com', 'myres.openai.azure.com']) {
      expect(isLlmProviderHost(sni), sni).toBe(true);
    }
    for (const sni of ['s3.amazonaws.com', 'evilapi.openai.com.example', 'notapi.openai.co', 'example.com']) {
      expect(isLlmProviderHost(sni), sni).toBe(false);
    }
  });
});
