/**
 * Model-name patterns of configured prices (`my-llama-*`): `*` matches any run of characters,
 * everything else matches itself, case-insensitively (providers are not consistent about case:
 * Bedrock ids, Ollama tags and gateway aliases all vary), and the pattern covers the whole name.
 *
 * Matched without regular expressions: the names come off the wire, and the two-pointer wildcard
 * scan below is O(name × pattern) in the worst case with no backtracking blow-up.
 */
export function matchModelGlob(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  const s = name.toLowerCase();
  let pi = 0;
  let si = 0;
  // Where the last `*` was and how much of the name it has swallowed so far.
  let star = -1;
  let mark = 0;
  while (si < s.length) {
    if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = si;
    } else if (pi < p.length && p[pi] === s[si]) {
      pi++;
      si++;
    } else if (star >= 0) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}
