/**
 * `llmtap doctor` as a user runs it: on this machine (what it finds must match what the machine
 * has), with a PATH that has no tcpdump (a FAIL with the install line, exit 1), and, when this
 * machine can capture, a sample taken while real SDK calls run finds their port.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
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
    const r = runCli(['doctor'], { ...process.env, PATH: bin });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('  FAIL  tcpdump: not found on PATH\n        fix: install it: apt install tcpdump');
    expect(r.stdout).toContain('live capture cannot work here yet');
    // No sample is attempted without a capture program.
    expect(r.stdout).not.toMatch(/capture: /);
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
