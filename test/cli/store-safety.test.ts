/**
 * Issue 3's safety checks on the real command: a planted API key in the captured traffic appears
 * nowhere in the database file or anything read back from it; a replay killed with SIGKILL
 * leaves a database that opens and holds every batch it had committed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Micros } from '../../src/core/time.js';
import { storeFiles } from '../../src/store/duckdb/packs.js';
import { openStore } from '../../src/store/index.js';
import { bulkPcap } from '../console/console-captures.js';
import { repoRoot } from '../corpus.js';
import { requestPiece, responsePieces, utf8 } from '../gen/http-wire.js';
import { pcapBytes } from '../gen/pcap-writer.js';
import { buildConnection, mergeConnections } from '../gen/tcp-conversation.js';

const cli = join(repoRoot, 'bin', 'llmtap.js');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'llmtap-safety-'));
  if (spawnSync('npm', ['run', 'build'], { cwd: repoRoot, encoding: 'utf8' }).status !== 0) throw new Error('npm run build failed');
});

const KEYS = {
  bearer: 'sk-proj-PLANTEDbearerKEY0123456789abcdef',
  anthropic: 'sk-ant-api03-PLANTEDanthropicKEY0123456789',
  gemini: 'AIzaSyPLANTEDgeminiKEY0123456789abcdefg',
  inPrompt: 'sk-PLANTEDinPromptKEY0123456789abcdefghij',
  inAnswer: 'sk-ant-api03-PLANTEDinAnswerKEY012345678',
  cookie: 'PLANTEDcookieSECRETvalue0123456789',
};

/** One OpenAI call and one Gemini call carrying the planted secrets in every place they go. */
function plantedPcap(): Uint8Array {
  const t0: Micros = Date.UTC(2026, 0, 20, 12, 0, 0) * 1000;
  const openai = buildConnection({
    client: { ip: '10.1.2.3', port: 40000 },
    server: { ip: '10.9.9.9', port: 80 },
    start: t0,
    seed: 1,
    exchanges: [
      {
        request: [
          requestPiece(t0 + 1_000, 'POST', '/v1/chat/completions', [
            ['Host', 'api.openai.com'],
            ['Authorization', `Bearer ${KEYS.bearer}`],
            ['x-api-key', KEYS.anthropic],
            ['Cookie', `session=${KEYS.cookie}`],
            ['Content-Type', 'application/json'],
          ], utf8(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: `my key is ${KEYS.inPrompt}, keep it` }] }))),
        ],
        response: responsePieces({
          status: 200,
          reason: 'OK',
          headers: [['Content-Type', 'application/json'], ['Set-Cookie', `s=${KEYS.cookie}`]],
          body: [{ at: t0 + 300_000, data: utf8(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: `Noted: ${KEYS.inAnswer}` }, finish_reason: 'stop' }], usage: { prompt_tokens: 20, completion_tokens: 9, total_tokens: 29 } })) }],
          framing: 'content-length',
        }).pieces,
      },
    ],
  });
  const gemini = buildConnection({
    client: { ip: '10.1.2.3', port: 40001 },
    server: { ip: '10.9.9.8', port: 80 },
    start: t0 + 1_000_000,
    seed: 2,
    exchanges: [
      {
        request: [
          requestPiece(t0 + 1_001_000, 'POST', `/v1beta/models/gemini-2.5-flash:generateContent?key=${KEYS.gemini}`, [
            ['Host', 'generativelanguage.googleapis.com'],
            ['Content-Type', 'application/json'],
          ], utf8(JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hello' }] }] }))),
        ],
        response: responsePieces({
          status: 200,
          reason: 'OK',
          headers: [['Content-Type', 'application/json']],
          body: [{ at: t0 + 1_400_000, data: utf8(JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'hi' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 1 }, modelVersion: 'gemini-2.5-flash' })) }],
          framing: 'content-length',
        }).pieces,
      },
    ],
  });
  return pcapBytes(mergeConnections([openai, gemini]), { kind: 'pcap' });
}

describe('the database never holds a secret', () => {
  it('a planted key appears nowhere in the database file or what is read back', async () => {
    const pcap = join(dir, 'planted.pcap');
    writeFileSync(pcap, plantedPcap());
    // The capture itself does carry every key (else this test would prove nothing).
    const raw = readFileSync(pcap).toString('latin1');
    for (const k of Object.values(KEYS)) expect(raw).toContain(k);

    const db = join(dir, 'planted.duckdb');
    const r = spawnSync(process.execPath, [cli, 'replay', pcap, '--db', db, '--exit-after-drain', '--no-retention'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('stored 2 new calls');

    const files = storeFiles(db);
    expect(files.filter((f) => f.endsWith('.pack')).length, 'bodies in packs').toBeGreaterThan(0);
    for (const file of files) {
      const bytes = readFileSync(file).toString('latin1');
      for (const k of Object.values(KEYS)) expect(bytes).not.toContain(k);
    }
    // Compression could hide a string from a byte scan: read everything back too.
    const store = await openStore({ path: db, retention: false });
    try {
      const page = await store.listCalls({}, { limit: 500 });
      expect(page.items).toHaveLength(2);
      const exchanges = await store.listExchanges({}, { limit: 500 });
      const everything = JSON.stringify([
        page.items,
        await Promise.all(page.items.map((c) => store.getCall(c.id))),
        await Promise.all(exchanges.items.map((e) => store.getExchange(e.id))),
      ]);
      expect(everything).toContain('[REDACTED]');
      for (const k of Object.values(KEYS)) expect(everything).not.toContain(k);
    } finally {
      await store.close();
    }
  });
});

/**
 * A Claude Code turn (prompt → Bash → Bash → Bash → answer) whose prompt, tool arguments (a loop
 * of the same call) and answer carry planted keys: everything the turn record previews.
 */
const TURN_KEYS = {
  prompt: 'sk-ant-api03-PLANTEDturnPromptKEY0123456789',
  toolArgs: 'sk-proj-PLANTEDturnToolArgsKEY0123456789ab',
  answer: 'AIzaSyPLANTEDturnAnswerKEY0123456789abcdefg',
};

function plantedTurnPcap(): Uint8Array {
  const t0: Micros = Date.UTC(2026, 0, 21, 9, 0, 0) * 1000;
  const headers: [string, string][] = [
    ['Host', 'api.anthropic.com'],
    ['User-Agent', 'claude-cli/2.1.104 (external, cli)'],
    ['Content-Type', 'application/json'],
    ['anthropic-version', '2023-06-01'],
    ['x-api-key', 'sk-ant-api03-agentsafety-00000000000000000000000'],
    ['X-Claude-Code-Session-Id', '5f0c7a52-2d7e-4f57-9d0a-1b2c3d4e5f60'],
  ];
  const tools = ['Agent', 'Bash', 'Read'].map((name) => ({ name, description: name, input_schema: { type: 'object' } }));
  const user = { role: 'user', content: [{ type: 'text', text: `deploy with my key ${TURN_KEYS.prompt} please` }] };
  const input = { command: `curl -H 'Authorization: ${TURN_KEYS.toolArgs}' https://example.test` };
  const messages: object[] = [user];
  const exchanges = [];
  for (let i = 0; i < 4; i++) {
    const at = t0 + i * 2_000_000;
    const last = i === 3;
    const tool = { type: 'tool_use', id: `toolu_safety${i}`, name: 'Bash', input };
    const reply = {
      id: `msg_safety${i}`, type: 'message', role: 'assistant', model: 'claude-sonnet-4-5',
      content: last ? [{ type: 'text', text: `Deployed using ${TURN_KEYS.answer}.` }] : [tool],
      stop_reason: last ? 'end_turn' : 'tool_use',
      usage: { input_tokens: 100, output_tokens: 20 },
    };
    exchanges.push({
      request: [requestPiece(at, 'POST', '/v1/messages?beta=true', headers, utf8(JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [...messages], tools })))],
      response: responsePieces({ status: 200, reason: 'OK', headers: [['Content-Type', 'application/json']], body: [{ at: at + 500_000, data: utf8(JSON.stringify(reply)) }], framing: 'content-length' }).pieces,
    });
    messages.push({ role: 'assistant', content: reply.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: tool.id, content: 'ok' }] });
  }
  const conn = buildConnection({ client: { ip: '10.1.2.4', port: 41000 }, server: { ip: '10.9.9.7', port: 80 }, start: t0, seed: 3, exchanges });
  return pcapBytes(mergeConnections([conn]), { kind: 'pcap' });
}

describe('agent turns never hold a secret', () => {
  it('a turn whose prompt, tool arguments and answer carry keys is stored without them', async () => {
    const pcap = join(dir, 'planted-turn.pcap');
    writeFileSync(pcap, plantedTurnPcap());
    const raw = readFileSync(pcap).toString('latin1');
    for (const k of Object.values(TURN_KEYS)) expect(raw).toContain(k);

    const db = join(dir, 'planted-turn.duckdb');
    const r = spawnSync(process.execPath, [cli, 'replay', pcap, '--db', db, '--exit-after-drain', '--no-retention'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    for (const file of storeFiles(db)) {
      const bytes = readFileSync(file).toString('latin1');
      for (const k of Object.values(TURN_KEYS)) expect(bytes).not.toContain(k);
    }
    const store = await openStore({ path: db, retention: false });
    try {
      const turns = await store.listTurns({});
      // The turn is there (else this proves nothing about turns), with the previews it is built from.
      expect(turns.items).toHaveLength(1);
      const turn = turns.items[0]!;
      expect(turn).toMatchObject({ agent: 'claude-code', status: 'complete', call_count: 4 });
      expect(turn.user_preview).toContain('[REDACTED]');
      const everything = JSON.stringify([turns, await store.getTurn(turn.id), await store.listSessions({}), await store.getSession(turn.session_id)]);
      for (const k of Object.values(TURN_KEYS)) expect(everything).not.toContain(k);
    } finally {
      await store.close();
    }
  });
});

describe('crash safety', () => {
  const root = process.getuid?.() === 0;
  it.skipIf(!root && process.env['CI'] !== 'true')('a full disk gives one clear line, and what was committed still opens', async () => {
    const pcap = join(dir, 'bulk.pcap');
    if (!existsSync(pcap)) writeFileSync(pcap, bulkPcap(40, 250));
    const mnt = mkdtempSync(join(tmpdir(), 'llmtap-full-'));
    // A 3 MiB filesystem fills long before 10,000 calls and their exchanges are written.
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt], { encoding: 'utf8' });
    expect(mount.status, mount.stderr).toBe(0);
    try {
      const db = join(mnt, 'full.duckdb');
      const r = spawnSync(process.execPath, [cli, 'replay', pcap, '--db', db, '--exit-after-drain', '--no-retention', '-q'], { encoding: 'utf8' });
      expect(r.status).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^llmtap: .*No space left on device/);
      const store = await openStore({ path: db, retention: false });
      try {
        const stats = await store.stats();
        expect(stats.tables['calls']).toBeGreaterThanOrEqual(0);
      } finally {
        await store.close();
      }
    } finally {
      spawnSync('umount', [mnt]);
    }
  });

  it('a replay killed with SIGKILL leaves a database that opens with every committed batch', async () => {
    const pcap = join(dir, 'bulk.pcap');
    writeFileSync(pcap, bulkPcap(40, 250)); // 10,000 calls: several batches
    const db = join(dir, 'crash.duckdb');
    const port = 20000 + (process.pid % 20000);
    const child = spawn(process.execPath, [cli, 'replay', pcap, '--db', db, '--listen', `127.0.0.1:${port}`, '--no-retention', '-q'], {
      stdio: 'ignore',
    });
    // Wait until the writer has committed something, then kill without warning.
    let committed = 0;
    for (let i = 0; i < 600 && committed === 0; i++) {
      await new Promise((res) => setTimeout(res, 50));
      try {
        const h = (await (await fetch(`http://127.0.0.1:${port}/api/v1/health`)).json()) as { writer: { written: number } | null };
        committed = h.writer?.written ?? 0;
      } catch {
        // not listening yet
      }
    }
    child.kill('SIGKILL');
    await new Promise((res) => child.once('exit', res));
    expect(committed).toBeGreaterThan(0);

    // The file opens, holds at least what was committed, and every row it holds is whole.
    const store = await openStore({ path: db, retention: false });
    try {
      const stats = await store.stats();
      // Every row the writer reported committed before the kill is there.
      expect((stats.tables['calls'] ?? 0) + (stats.tables['exchanges'] ?? 0)).toBeGreaterThanOrEqual(committed);
      let calls = 0;
      let cursor: string | null = null;
      do {
        const page = await store.listCalls({}, { limit: 500, cursor });
        for (const c of page.items) expect(c.kind).toBe('llm_call');
        calls += page.items.length;
        cursor = page.next_cursor;
      } while (cursor);
      expect(calls).toBe(stats.tables['calls']);
      expect(calls).toBeGreaterThan(0);
      expect(calls).toBeLessThanOrEqual(10_000);
    } finally {
      await store.close();
    }

    // And a second replay into the same file completes it without doubling anything.
    const again = spawnSync(process.execPath, [cli, 'replay', pcap, '--db', db, '--exit-after-drain', '--no-retention'], { encoding: 'utf8' });
    expect(again.status).toBe(0);
    const store2 = await openStore({ path: db, retention: false });
    try {
      expect((await store2.summary({})).calls).toBe(10_000);
    } finally {
      await store2.close();
    }
  });
});
