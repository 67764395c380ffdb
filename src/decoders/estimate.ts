/**
 * Token counts when the wire carries none (a stream without `include_usage`, an interrupted
 * stream, a proxy that strips usage): counted with a real BPE tokenizer and flagged
 * `usage.estimated`. o200k_base is the encoding of current OpenAI models; for other providers it
 * is an approximation, which is what `estimated` says.
 */
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';

/** Tokenizing is O(n) but not free: beyond this many characters we scale from a prefix sample.
 * 2 MB is far above any single generated answer and covers most agent-sized requests whole. */
const EXACT_LIMIT_CHARS = 2_000_000;

export function estimateTokens(text: string): number {
  if (text.length === 0) return 0;
  if (text.length <= EXACT_LIMIT_CHARS) return countTokens(text);
  const sample = text.slice(0, EXACT_LIMIT_CHARS);
  return Math.round((countTokens(sample) * text.length) / sample.length);
}
