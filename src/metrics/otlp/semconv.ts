/**
 * OpenTelemetry GenAI semantic-convention values for our records
 * (https://opentelemetry.io/docs/specs/semconv/registry/attributes/gen-ai/, status Development;
 * attribute names as of semantic-conventions v1.37–v1.41).
 */
import type { LlmCallRecord } from '../../core/record.js';

/** Our `provider` → `gen_ai.provider.name` well-known value ("If one of them applies, then the
 * respective value MUST be used; otherwise, a custom value MAY be used"). Unlisted providers
 * (ollama, openrouter, together, …) are sent under our own name, a custom value. */
const PROVIDER_NAME: ReadonlyMap<string, string> = new Map([
  ['openai', 'openai'],
  ['anthropic', 'anthropic'],
  ['aws', 'aws.bedrock'],
  ['azure', 'azure.ai.openai'],
  ['cohere', 'cohere'],
  ['deepseek', 'deepseek'],
  ['groq', 'groq'],
  ['mistral', 'mistral_ai'],
  ['perplexity', 'perplexity'],
  ['xai', 'x_ai'],
]);

/** The older `gen_ai.system` (semconv ≤ v1.36, still read by many backends): its well-known
 * values differ from the provider names (`az.ai.openai`, `gemini`, `vertex_ai`, `xai`). */
const SYSTEM_NAME: ReadonlyMap<string, string> = new Map([
  ['azure', 'az.ai.openai'],
  ['aws', 'aws.bedrock'],
  ['mistral', 'mistral_ai'],
  ['xai', 'xai'],
]);

/** Google: which endpoint was called tells the well-known value (registry notes 19–21):
 * generativelanguage.googleapis.com is `gcp.gemini`, aiplatform.googleapis.com `gcp.vertex_ai`,
 * anything else `gcp.gen_ai`. */
function googleFlavour(host: string | null): 'gemini' | 'vertex_ai' | null {
  if (host === null) return null;
  const h = host.toLowerCase();
  if (h === 'generativelanguage.googleapis.com') return 'gemini';
  if (h.endsWith('aiplatform.googleapis.com')) return 'vertex_ai';
  return null;
}

export function providerName(call: Pick<LlmCallRecord, 'provider' | 'server'>): string {
  if (call.provider === 'google') {
    const f = googleFlavour(serverAddress(call.server));
    return f === null ? 'gcp.gen_ai' : `gcp.${f}`;
  }
  return PROVIDER_NAME.get(call.provider) ?? call.provider;
}

export function systemName(call: Pick<LlmCallRecord, 'provider' | 'server'>): string {
  if (call.provider === 'google') return googleFlavour(serverAddress(call.server)) ?? 'gemini';
  return SYSTEM_NAME.get(call.provider) ?? call.provider;
}

/**
 * `gen_ai.operation.name` of a model call. Our `operation` already uses the well-known values
 * (chat, generate_content, text_completion, embeddings). MCP calls are not model calls: their
 * spans follow mcp-semconv.ts.
 */
export function operationName(call: Pick<LlmCallRecord, 'operation'>): string {
  return call.operation || 'chat';
}

/** `server.address`: the name the client asked for (Host/SNI) without a port, else the IP. */
export function serverAddress(server: LlmCallRecord['server']): string {
  const host = server.host;
  if (host === null || host === '') return server.ip;
  const bracketed = /^\[([^\]]*)\](?::\d+)?$/.exec(host); // [v6]:port (RFC 9110 §7.2 Host)
  if (bracketed) return bracketed[1] ?? host;
  const withPort = /^([^:]+):\d+$/.exec(host);
  return withPort?.[1] ?? host;
}

/**
 * `error.type`: the provider's error code when it sent one ("SHOULD match the error code
 * returned by the Generative AI provider"), else the HTTP status (the spec's example `500`),
 * else `_OTHER` for a call that failed without either (an interrupted stream). Never the
 * error message: it can quote the request's content.
 */
export function errorType(call: Pick<LlmCallRecord, 'error' | 'status_code' | 'finish_reason'>): string | null {
  if (call.error !== null && call.error.type !== '') return call.error.type;
  if (call.status_code !== null && call.status_code >= 400) return String(call.status_code);
  if (call.error !== null || call.finish_reason === 'error') return '_OTHER';
  return null;
}
