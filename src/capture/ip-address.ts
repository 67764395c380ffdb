/**
 * IP addresses as text, once per distinct address rather than once per packet: a capture has few
 * hosts and millions of packets, so each formatter keeps a small cache keyed by the raw bytes and
 * returns the same string object again (no allocation on the hot path).
 *
 * IPv4: dotted decimal. IPv6: RFC 5952 canonical form (§4: lower case, no leading zeros, the
 * longest run of two or more zero groups compressed to "::", the first such run on a tie;
 * §5: IPv4-mapped addresses in mixed notation, ::ffff:192.0.2.1).
 */

/** Cache sizes: a power of two; hosts seen in one capture rarely exceed a few hundred, and a miss
 * only costs one formatting, so a collision-evicting table this size is plenty. */
const V4_SLOTS = 4096;
const V6_SLOTS = 1024;

export class AddressFormatter {
  private readonly v4Keys = new Int32Array(V4_SLOTS);
  private readonly v4Text: (string | undefined)[] = new Array<string | undefined>(V4_SLOTS);
  private readonly v6Keys = new Uint8Array(V6_SLOTS * 16);
  private readonly v6Text: (string | undefined)[] = new Array<string | undefined>(V6_SLOTS);

  /** The IPv4 address in b[o..o+4). */
  ipv4(b: Uint8Array, o: number): string {
    const key = (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
    // Multiplicative hash (Knuth) of the 32-bit key into the table.
    const slot = Math.imul(key, 0x9e3779b1) >>> (32 - 12);
    const hit = this.v4Text[slot];
    if (hit !== undefined && this.v4Keys[slot] === key) return hit;
    const text = formatIpv4(b, o);
    this.v4Keys[slot] = key;
    this.v4Text[slot] = text;
    return text;
  }

  /** The IPv6 address in b[o..o+16). */
  ipv6(b: Uint8Array, o: number): string {
    let h = 0x811c9dc5; // FNV-1a over the 16 bytes
    for (let i = 0; i < 16; i++) h = Math.imul(h ^ b[o + i]!, 0x01000193);
    const slot = (h >>> 0) & (V6_SLOTS - 1);
    const hit = this.v6Text[slot];
    const base = slot * 16;
    if (hit !== undefined) {
      let same = true;
      for (let i = 0; i < 16; i++) {
        if (this.v6Keys[base + i] !== b[o + i]) {
          same = false;
          break;
        }
      }
      if (same) return hit;
    }
    const text = formatIpv6(b, o);
    for (let i = 0; i < 16; i++) this.v6Keys[base + i] = b[o + i]!;
    this.v6Text[slot] = text;
    return text;
  }
}

export function formatIpv4(b: Uint8Array, o: number): string {
  return `${b[o]!}.${b[o + 1]!}.${b[o + 2]!}.${b[o + 3]!}`;
}

export function formatIpv6(b: Uint8Array, o: number): string {
  const g = new Array<number>(8);
  for (let i = 0; i < 8; i++) g[i] = (b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!;
  // §5: IPv4-mapped ::ffff:0:0/96 in mixed notation.
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${formatIpv4(b, o + 12)}`;
  }
  // §4.2.1-3: the longest run (≥ 2 groups) of zeros, the first on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (s.length > 0 && !s.endsWith(':')) s += ':';
    s += g[i]!.toString(16);
  }
  return s;
}
