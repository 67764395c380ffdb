/**
 * Corpus conformance: every recorded Anthropic Messages body in ../shared/corpus (MANIFEST-real
 * provider "Anthropic Messages", plus tokenscope's Anthropic wire examples) is decoded and checked
 * against what the recording itself states: message_start + final message_delta (or the
 * non-streaming message) for model, id, usage, stop reason, text and tool names.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { corpusDir } from '../../test/corpus.js';
import { anthropicMessagesDecoder as dec } from './anthropic-messages.js';
import {
  cassette,
  chunksToSse,
  manifestFiles,
  nockRecording,
  readText,
  recording,
  splitAnthropicChunks,
  type Recording,
} from './corpus-recordings.test-support.js';
import { bodyText, type HeaderList } from '../http/types.js';
import { arr, num, obj, str, tryParseJson, type JsonObject } from './json.js';

const HEADERS: HeaderList = [
  ['anthropic-version', '2023-06-01'],
  ['content-type', 'application/json'],
];
const VERTEX = '/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-3-5-sonnet@20240620';

/** Files we do not decode, and why. */
const EXCLUDED: Record<string, string> = {
  'openllmetry/anthropic/test_completion__test_anthropic_completion_legacy.yaml':
    'legacy Text Completions API (POST /v1/complete), not Messages',
};

/** tokenscope wire examples (not in MANIFEST-real): response bodies, with their request when one
 * sits beside them. */
const TOKENSCOPE = [
  ['tokenscope/wire/anthropic/response-basic.json', 'tokenscope/wire/anthropic/request-basic.json'],
  ['tokenscope/wire/bodies/anthropic_output_text_only.json', 'tokenscope/wire/bodies/anthropic_input_user_only.json'],
  ['tokenscope/wire/bodies/anthropic_output_thinking.json', 'tokenscope/wire/bodies/anthropic_input_full.json'],
  ['tokenscope/wire/bodies/anthropic_output_tool_use.json', 'tokenscope/wire/bodies/anthropic_input_with_tool_result.json'],
] as const;

interface Case {
  file: string;
  recordings: Recording[];
}

function load(corpus: string, rel: string): Case {
  const text = (): string => readText(corpus, rel);
  if (rel.endsWith('.yaml')) return { file: rel, recordings: cassette(corpus, rel).map((c) => c.recording) };
  if (rel.endsWith('nock-ToolRunner.json')) return { file: rel, recordings: nockRecording(corpus, rel) };
  if (rel.endsWith('.chunks.txt')) {
    const parts = splitAnthropicChunks(text());
    return {
      file: rel,
      recordings: parts.map((p, i) => recording(parts.length > 1 ? `${rel}#${i}` : rel, { target: '/v1/messages', reqHeaders: HEADERS, resBody: chunksToSse(p) })),
    };
  }
  if (rel.startsWith('langchainjs-google-common/')) {
    const method = rel.endsWith('.sse') ? 'streamRawPredict' : 'rawPredict';
    return { file: rel, recordings: [recording(rel, { target: `${VERTEX}:${method}`, resBody: text() })] };
  }
  return { file: rel, recordings: [recording(rel, { target: '/v1/messages', reqHeaders: HEADERS, resBody: text() })] };
}

function tokenscopeCase(corpus: string, res: string, req: string): Case {
  return {
    file: res,
    recordings: [recording(res, { target: '/v1/messages', reqHeaders: HEADERS, reqBody: readText(corpus, req), resBody: readText(corpus, res) })],
  };
}

const excludedSeen: string[] = [];

function cases(): Case[] {
  if (!corpusDir) return [];
  const corpus = corpusDir;
  const out: Case[] = [];
  for (const f of manifestFiles(corpus, ['Anthropic Messages'])) {
    if (f in EXCLUDED) excludedSeen.push(f);
    else out.push(load(corpus, f));
  }
  for (const [res, req] of TOKENSCOPE) if (existsSync(join(corpus, res))) out.push(tokenscopeCase(corpus, res, req));
  return out;
}

/** What a recording states about itself, read independently of the decoder: `data:` lines split
 * by hand, the usage of message_start merged with the final message_delta's. */
interface Stated {
  stream: boolean;
  model: string | null;
  id: string | null;
  stopReason: string | null;
  text: string;
  tools: string[];
  usage: JsonObject | null;
  /** The recording carries a final output count (message_delta usage, or the message's usage). */
  finalOutput: boolean;
  errorType: string | null;
  complete: boolean;
}

const TOOL_TYPES = ['tool_use', 'server_tool_use', 'mcp_tool_use'];

function stated(body: string, status: number): Stated {
  const s: Stated = { stream: false, model: null, id: null, stopReason: null, text: '', tools: [], usage: null, finalOutput: false, errorType: null, complete: false };
  const trimmed = body.trimStart();
  if (trimmed.startsWith('{')) {
    const m = obj(tryParseJson(body));
    if (status >= 400 || m?.['type'] === 'error') {
      s.errorType = str(obj(m?.['error'])?.['type']) ?? `http_${status}`;
      return s;
    }
    s.model = str(m?.['model']);
    s.id = str(m?.['id']);
    s.stopReason = str(m?.['stop_reason']);
    for (const b of arr(m?.['content']).map(obj)) {
      if (b?.['type'] === 'text') s.text += str(b['text']) ?? '';
      if (TOOL_TYPES.includes(str(b?.['type']) ?? '')) s.tools.push(str(b!['name']) ?? '');
    }
    s.usage = obj(m?.['usage']);
    s.finalOutput = num(s.usage?.['output_tokens']) !== null;
    s.complete = true;
    return s;
  }
  s.stream = true;
  for (const line of body.split(/\r\n|\r|\n/)) {
    if (!line.startsWith('data:')) continue;
    const d = obj(tryParseJson(line.slice(5)));
    if (!d) continue;
    const type = str(d['type']);
    if (type === 'message_start') {
      const m = obj(d['message']);
      s.model = str(m?.['model']);
      s.id = str(m?.['id']);
      s.usage = { ...obj(m?.['usage']) };
    } else if (type === 'content_block_start') {
      const b = obj(d['content_block']);
      if (b?.['type'] === 'text') s.text += str(b['text']) ?? '';
      if (TOOL_TYPES.includes(str(b?.['type']) ?? '')) s.tools.push(str(b!['name']) ?? '');
    } else if (type === 'content_block_delta') {
      const delta = obj(d['delta']);
      if (delta?.['type'] === 'text_delta') s.text += str(delta['text']) ?? '';
    } else if (type === 'message_delta') {
      s.stopReason = str(obj(d['delta'])?.['stop_reason']) ?? s.stopReason;
      const u = obj(d['usage']);
      if (u) {
        s.usage ??= {};
        for (const [k, v] of Object.entries(u)) if (v !== null) s.usage[k] = v;
        s.finalOutput = num(u['output_tokens']) !== null;
      }
    } else if (type === 'message_stop') s.complete = true;
    else if (type === 'error') s.errorType = str(obj(d['error'])?.['type']) ?? 'error';
  }
  return s;
}

/** Hand-written stream cases whose point is a malformed stream: what the decoder must report is
 * stated here, not read naively from the events. */
const SPECIAL: Record<string, Partial<Stated>> = {
  'vercel-ai/anthropic/spliced-message-start.chunks.txt': { id: 'msg_second', tools: ['test-tool'] },
};

const outcomes = new Map<string, string>();

describe.skipIf(!corpusDir)('anthropic messages: corpus conformance', () => {
  const all = cases();

  it('finds the recordings', () => {
    expect(all.length).toBeGreaterThanOrEqual(100);
  });

  for (const c of all) {
    it(c.file, () => {
      expect(c.recordings.length).toBeGreaterThan(0);
      for (const r of c.recordings) {
        const ex = r.exchange;
        const call = dec.decode(ex);
        if (/\/count_tokens$/.test(ex.request.path)) {
          expect(call, r.label).toBeNull();
          continue;
        }
        // Routed as the registry would: pass 1 (path + headers), else pass 2 (body shape).
        const routed = dec.matchRoute(ex.request) || dec.matchBody(ex.request, tryParseJson(bodyText(ex.request.body)));
        expect(routed, r.label).toBe(true);
        expect(call, r.label).not.toBeNull();
        const got = call!;
        expect(got.anomalies, r.label).not.toContain('anthropic_decoder_failed');
        const want = { ...stated(bodyText(ex.response!.body), ex.response!.status), ...SPECIAL[r.label] };
        if (want.errorType !== null) {
          expect(got.error?.type, r.label).toBe(want.errorType);
          expect(got.finish_reason, r.label).toBe('error');
          continue;
        }
        expect(got.error, r.label).toBeNull();
        expect(got.stream, r.label).toBe(want.stream);
        expect(got.response_model, r.label).toBe(want.model);
        expect(got.response_id, r.label).toBe(want.id);
        expect(got.finish_reason_raw, r.label).toBe(want.stopReason);
        if (want.stopReason !== null) expect(got.finish_reason, r.label).not.toBeNull();
        expect(got.output_text, r.label).toBe(want.text);
        expect(got.tool_calls.map((t) => t.name), r.label).toEqual(want.tools);
        const u = want.usage;
        if (u && want.finalOutput) {
          const input = num(u['input_tokens'])! + (num(u['cache_read_input_tokens']) ?? 0) + (num(u['cache_creation_input_tokens']) ?? 0);
          expect(got.usage, r.label).toMatchObject({
            input_tokens: input,
            output_tokens: num(u['output_tokens']),
            cache_read_tokens: num(u['cache_read_input_tokens']),
            cache_write_tokens: num(u['cache_creation_input_tokens']),
            estimated: false,
          });
        } else {
          expect(got.usage.estimated, r.label).toBe(true);
        }
        if (want.stream) {
          expect(got.anomalies.includes('anthropic_stream_interrupted'), r.label).toBe(!want.complete);
          if (want.text !== '' || want.tools.length > 0) expect(got.first_token, r.label).not.toBeNull();
        }
      }
      outcomes.set(c.file, 'passed');
    });
  }

  afterAll(() => {
    const passed = [...outcomes.values()].filter((v) => v === 'passed').length;
    const recs = all.reduce((n, c) => n + c.recordings.length, 0);
    console.info(
      `[anthropic corpus] files: ${all.length + excludedSeen.length}, decoded: ${all.length} (${recs} exchanges), passed: ${passed}, excluded: ${excludedSeen.length}\n` +
        excludedSeen.map((f) => `  excluded ${f}: ${EXCLUDED[f]}`).join('\n'),
    );
  });
});
