/**
 * Token counts when the wire carries none (a stream without `include_usage`, an interrupted
 * stream, a proxy that strips usage): counted with a real BPE tokenizer and flagged
 * `usage.estimated`. o200k_base is the encoding of current OpenAI models; for other providers it
 * is an approximation, which is what `estimated` says.
 *
 * Agent traffic resends the same system prompt and the growing conversation on every call, so the
 * text is counted in paragraph segments with a cache: each paragraph is tokenized once however
 * many calls repeat it. BPE pre-tokenization splits at newline runs, so counting per paragraph
 * gives the same total as counting the whole text (checked in estimate.test.ts). Counting itself
 * is token-count.ts: gpt-tokenizer's exact counts, faster.
 */
import { hash } from 'node:crypto';
import { countO200k } from './token-count.js';

/** Tokenizing is O(n) but not free: beyond this many characters we scale from a prefix sample.
 * 2 MB is far above any single generated answer and covers most agent-sized requests whole. */
const EXACT_LIMIT_CHARS = 2_000_000;
/** Segments shorter than this are counted directly: caching them costs more than it saves. */
const CACHE_MIN_CHARS = 256;
/**
 * Cache bound in entries. The key is a SHA-256 digest of the segment, not the segment: keeping
 * the text made the cache hold up to 8 M characters, so the process grew with the input until
 * the cap (the bench's 1× file ended with 5 MB of cached text, the 2× file with 8 MB). A digest
 * entry is ~100 bytes, so 16,384 of them (~1.6 MB) remember as many paragraphs as 4 MB of text
 * would (256-char minimum, mostly longer), a few hundred agent conversations. SHA-256 runs at
 * ~1.2 GB/s here, a small fraction of counting the segment; a collision is not a practical risk.
 */
const CACHE_MAX_ENTRIES = 16_384;

const cache = new Map<string, number>();

function countSegment(seg: string): number {
  // The digest reads the text as UTF-8, where a lone surrogate becomes U+FFFD. Texts that differ
  // only there share a key, and also a count: the tokenizer encodes to UTF-8 too, and its
  // pre-tokenizer puts both characters in the same class (not \s, \p{L} or \p{N}).
  if (seg.length < CACHE_MIN_CHARS) return countO200k(seg);
  const key = hash('sha256', seg, 'base64');
  const hit = cache.get(key);
  if (hit !== undefined) {
    // Refresh its place in the LRU order (Map iteration order is insertion order).
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const n = countO200k(seg);
  if (cache.size >= CACHE_MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  cache.set(key, n);
  return n;
}

/**
 * Segment ends: after a run of blank lines that is followed by a character other than a space or
 * `/`. The o200k pre-tokenizer makes a newline run one piece (`\s*[\r\n]+`), or the tail of a
 * symbol piece (` ?[^\s\p{L}\p{N}]+[\r\n/]*`, which also takes the `/`s after it), and never starts
 * a piece after it with a newline, so no piece crosses such a boundary and the counts add up
 * exactly.
 */
function countText(text: string): number {
  let total = 0;
  let start = 0;
  let from = 0;
  while (start < text.length) {
    const at = text.indexOf('\n\n', from);
    if (at < 0) break;
    let end = at + 2;
    while (end < text.length && (text.charCodeAt(end) === 10 || text.charCodeAt(end) === 13)) end++;
    from = end;
    if (end >= text.length || /[\s/]/.test(text[end]!)) continue;
    total += countSegment(text.slice(start, end));
    start = end;
  }
  if (start < text.length) total += countSegment(text.slice(start));
  return total;
}

export function estimateTokens(text: string): number {
  if (text.length === 0) return 0;
  if (text.length <= EXACT_LIMIT_CHARS) return countText(text);
  const sample = text.slice(0, EXACT_LIMIT_CHARS);
  return Math.round((countText(sample) * text.length) / sample.length);
}
