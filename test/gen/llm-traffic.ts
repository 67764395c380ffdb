/**
 * Realistic LLM API traffic for tests and benchmarks: one exchange of any of the four wire APIs
 * (OpenAI Chat Completions, OpenAI Responses, Anthropic Messages, Gemini) with the facts the
 * pipeline should report for it, and whole keep-alive sessions as TCP packets. Seeded: the same
 * seed gives the same bytes.
 */
import type { Micros } from '../../src/core/time.js';
import { messages } from './llm-anthropic.js';
import type { ApiName, ExchangeOptions, GeneratedExchange } from './llm-common.js';
import { generateContent } from './llm-gemini.js';
import { chatCompletions, responses } from './llm-openai.js';
import { Rng } from './rng.js';
import { type ConnectionResult, type ConnectionSpec, buildConnection } from './tcp-conversation.js';

export type { ApiName, ExchangeOptions, ExpectedFacts, ExpectedUsage, GeneratedExchange } from './llm-common.js';

export const APIS: readonly ApiName[] = ['openai.chat_completions', 'openai.responses', 'anthropic.messages', 'gemini.generate_content'];

/** One exchange of `o.api`. */
export function generateExchange(rng: Rng, o: ExchangeOptions): GeneratedExchange {
  switch (o.api) {
    case 'openai.chat_completions':
      return chatCompletions(rng, o);
    case 'openai.responses':
      return responses(rng, o);
    case 'anthropic.messages':
      return messages(rng, o);
    case 'gemini.generate_content':
      return generateContent(rng, o);
  }
}

/** Server addresses that look like each provider's edge (documentation-only values, plain HTTP
 * on port 80 so captures decode without TLS keys). */
export const SERVER_FOR: Record<ApiName, string> = {
  'openai.chat_completions': '162.159.140.245',
  'openai.responses': '162.159.140.245',
  'anthropic.messages': '160.79.104.10',
  'gemini.generate_content': '142.250.72.106',
};

export interface SessionSpec {
  seed: number;
  client: { ip: string; port: number };
  /** Default: the provider address of the first call's API, port 80. */
  server?: { ip: string; port: number };
  /** Time of the SYN. */
  start: Micros;
  /** Calls made one after the other on this keep-alive connection. */
  calls: Omit<ExchangeOptions, 'at'>[];
  /** Median pause between a response's end and the next request (tool execution), µs; default 1.5 s. */
  thinkUs?: number;
  /** TCP options: RTT, MSS, impairments, close, link, handshake. */
  tcp?: Omit<ConnectionSpec, 'client' | 'server' | 'start' | 'exchanges'>;
}

export interface Session {
  connection: ConnectionResult;
  /** Exchanges in order; expected times are the capture times the packets really carry. */
  exchanges: GeneratedExchange[];
}

/** A keep-alive connection carrying `calls` in sequence. A call with `interruptAfter` must be the
 * last: the server resets the connection after it (unless `tcp.close` says otherwise). */
export function buildSession(spec: SessionSpec): Session {
  const rng = new Rng(spec.seed);
  const rtt = spec.tcp?.rttUs ?? 20_000;
  const first = spec.calls[0];
  const server = spec.server ?? { ip: first ? SERVER_FOR[first.api] : '192.0.2.1', port: 80 };
  // The first request follows the handshake (SYN, SYN-ACK one RTT later, ACK).
  let at = spec.start + (spec.tcp?.handshake === false ? 0 : rtt + 1_000);
  const exchanges: GeneratedExchange[] = [];
  spec.calls.forEach((c, i) => {
    if (c.interruptAfter !== undefined && i !== spec.calls.length - 1) throw new Error('an interrupted call must be the last on its connection');
    const ex = generateExchange(rng.fork(), { ...c, at });
    exchanges.push(ex);
    at = ex.end + Math.round(rng.around(spec.thinkUs ?? 1_500_000, 0.6));
  });
  const interrupted = spec.calls[spec.calls.length - 1]?.interruptAfter !== undefined;
  const connection = buildConnection({
    ...spec.tcp,
    client: spec.client,
    server,
    start: spec.start,
    seed: spec.seed,
    close: spec.tcp?.close ?? (interrupted ? 'server-rst' : 'client-fin'),
    exchanges: exchanges.map((e) => e.wire),
  });
  exchanges.forEach((ex, i) => {
    const t = connection.exchanges[i]!;
    const e = ex.expected;
    e.requestStart = t.requestStart;
    e.responseStart = t.responseStart;
    e.responseEnd = t.responseEnd;
    if (ex.firstContentPiece !== null) e.firstEventAt = t.responsePieceDone[ex.firstContentPiece] ?? null;
    if (ex.lastContentPiece !== null) e.lastEventAt = t.responsePieceDone[ex.lastContentPiece] ?? null;
  });
  return { connection, exchanges };
}
