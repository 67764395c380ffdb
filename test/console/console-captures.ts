/**
 * Captures for the console's browser tests: one OpenAI Chat Completions call whose prompt, tool
 * call and answer carry HTML/script payloads (they must show as text and run nothing), one plain
 * HTTP exchange that is not an LLM call, and a few hundred small calls so the calls list needs
 * more than one page.
 */
import type { Micros } from '../../src/core/time.js';
import { requestPiece, responsePieces, utf8 } from '../gen/http-wire.js';
import { buildSession } from '../gen/llm-traffic.js';
import { pcapBytes } from '../gen/pcap-writer.js';
import { buildConnection, mergeConnections } from '../gen/tcp-conversation.js';

export const IMG_PAYLOAD = '<img src=x onerror="window.__pwned=1">';
export const SCRIPT_PAYLOAD = '<script>window.__pwned=1</script>';
/** A tool name the model "calls": shown in the calls table and the conversation. */
export const TOOL_PAYLOAD = '<img src=x onerror=alert(1)>';
export const PAYLOAD_MODEL = 'gpt-4o-mini';

/** 2026-01-15T11:00:00Z: after the demo capture, so the payload call is the newest. */
const T0: Micros = Date.UTC(2026, 0, 15, 11, 0, 0) * 1000;

export function payloadPcap(): Uint8Array {
  const request = JSON.stringify({
    model: PAYLOAD_MODEL,
    messages: [
      { role: 'system', content: `You are helpful. ${SCRIPT_PAYLOAD}` },
      { role: 'user', content: `Please render this: ${IMG_PAYLOAD}` },
    ],
    tools: [{ type: 'function', function: { name: TOOL_PAYLOAD, parameters: { type: 'object', properties: {} } } }],
  });
  const response = JSON.stringify({
    id: 'chatcmpl-payload',
    object: 'chat.completion',
    created: 1768474800,
    model: PAYLOAD_MODEL,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: `Here it is: ${IMG_PAYLOAD} ${SCRIPT_PAYLOAD}`,
          tool_calls: [{ id: 'call_payload', type: 'function', function: { name: TOOL_PAYLOAD, arguments: JSON.stringify({ html: SCRIPT_PAYLOAD }) } }],
        },
        finish_reason: 'tool_calls',
      },
    ],
    usage: { prompt_tokens: 41, completion_tokens: 27, total_tokens: 68 },
  });
  const llm = buildConnection({
    client: { ip: '192.168.1.50', port: 52000 },
    server: { ip: '162.159.140.245', port: 80 },
    start: T0,
    seed: 7,
    exchanges: [
      {
        request: [
          requestPiece(T0 + 21_000, 'POST', '/v1/chat/completions', [
            ['Host', 'api.openai.com'],
            ['Content-Type', 'application/json'],
            ['User-Agent', `payload-test ${IMG_PAYLOAD}`],
          ], utf8(request)),
        ],
        response: responsePieces({
          status: 200,
          reason: 'OK',
          headers: [['Content-Type', 'application/json']],
          body: [{ at: T0 + 640_000, data: utf8(response) }],
          framing: 'content-length',
        }).pieces,
      },
    ],
  });
  const other = buildConnection({
    client: { ip: '192.168.1.50', port: 52001 },
    server: { ip: '93.184.215.14', port: 80 },
    start: T0 + 2_000_000,
    seed: 8,
    exchanges: [
      {
        request: [requestPiece(T0 + 2_021_000, 'GET', '/status', [['Host', 'status.example.com']], new Uint8Array(0))],
        response: responsePieces({ status: 200, reason: 'OK', headers: [['Content-Type', 'text/plain']], body: [{ at: T0 + 2_080_000, data: utf8('all good') }], framing: 'content-length' }).pieces,
      },
    ],
  });
  return pcapBytes(mergeConnections([llm, other]), { kind: 'pcap' });
}

/** `sessions` × `perSession` small calls (an hour before the demo capture), for pagination. */
export function bulkPcap(sessions = 4, perSession = 60): Uint8Array {
  const start = Date.UTC(2026, 0, 15, 9, 0, 0) * 1000;
  const apis = ['openai.chat_completions', 'anthropic.messages', 'gemini.generate_content', 'openai.responses'] as const;
  const conns = [];
  for (let s = 0; s < sessions; s++) {
    const api = apis[s % apis.length]!;
    conns.push(
      buildSession({
        seed: 5000 + s,
        client: { ip: '192.168.1.60', port: 53000 + s },
        start: start + s * 250_000,
        thinkUs: 200_000,
        calls: Array.from({ length: perSession }, () => ({ api, requestBytes: 1_500, outputTokens: 8 })),
      }).connection,
    );
  }
  return pcapBytes(mergeConnections(conns), { kind: 'pcap' });
}
