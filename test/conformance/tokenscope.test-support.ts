/** What both tokenscope conformance tests need to read the goldens' token counts. */

/** Usage named the Anthropic way (on any wire) excludes cache from input_tokens; the goldens
 * keep that convention, ours always includes cache (DESIGN §3). */
export function anthropicStyleUsage(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && 'input_tokens' in raw && 'cache_read_input_tokens' in raw;
}
