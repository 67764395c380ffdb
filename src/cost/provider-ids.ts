/**
 * Our record's `provider` (what the decoders emit: `openai`, `anthropic`, `google`, and the
 * OpenAI-compatible hosts named in src/decoders/openai-common.ts) → the provider id of the
 * @pydantic/genai-prices table. A provider missing here is not priced: guessing a provider from
 * the model name would price a self-hosted or resold model at someone else's list price.
 */
const PRICE_TABLE_PROVIDER: ReadonlyMap<string, string> = new Map([
  ['openai', 'openai'],
  ['anthropic', 'anthropic'],
  ['google', 'google'],
  // The table's Azure entry falls back to OpenAI, Anthropic, DeepSeek, xAI and Moonshot models.
  ['azure', 'azure'],
  ['groq', 'groq'],
  ['mistral', 'mistral'],
  ['deepseek', 'deepseek'],
  ['xai', 'x-ai'],
  ['openrouter', 'openrouter'],
  ['together', 'together'],
  ['fireworks', 'fireworks'],
  ['perplexity', 'perplexity'],
  ['moonshotai', 'moonshotai'],
  ['cerebras', 'cerebras'],
  // Embeddings (src/decoders/compatible-servers.ts names api.voyageai.com `voyage`).
  ['voyage', 'voyageai'],
  // Bedrock (DESIGN §3 provider `aws`): the table's `aws-bedrock` (id `aws`) lists Bedrock model
  // ids, cross-region profiles (`us.anthropic.…`) included, at Bedrock's prices.
  ['aws', 'aws-bedrock'],
  ['cohere', 'cohere'],
  // Not mapped: `alibaba` (no DashScope entry in the table) and `github`, which covers both
  // GitHub Models and Copilot; Copilot is billed per seat/request, not by these token prices.
]);

/** The price table's provider id for our provider name, or null when we do not price it. */
export function priceTableProvider(provider: string): string | null {
  return PRICE_TABLE_PROVIDER.get(provider) ?? null;
}

/** Every price-table provider id we map to (for the build-time price snapshot). */
export function priceTableProviders(): string[] {
  return [...new Set(PRICE_TABLE_PROVIDER.values())];
}

/** Every provider of ours that is priced from the table. */
export function pricedProviders(): string[] {
  return [...PRICE_TABLE_PROVIDER.keys()];
}

/** Providers whose calls are not billed by tokens: MCP tool servers (src/decoders/mcp.ts). Their
 * cost is `not_applicable` (src/core/record.ts), neither priced nor missing a price. */
const NOT_TOKEN_BILLED: ReadonlySet<string> = new Set(['mcp']);

/** False for calls that no token price applies to (cost_status `not_applicable`). */
export function isTokenBilled(provider: string): boolean {
  return !NOT_TOKEN_BILLED.has(provider);
}
