/** Deterministic record ids: the same capture replayed gives the same ids (docs/design-notes.md). */

const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => (i + 0x100).toString(16).slice(1));

/**
 * The UUIDv7 (RFC 9562 §5.7) of Unix time `msecs` (48 bits) whose other bits come from
 * `random[6..15]`: byte for byte what the uuid package's `v7({ msecs, random })` returns (its
 * 32-bit counter is taken from random bytes 6–9, then laid over bytes 6–10 around the version
 * and variant bits; ids.test.ts compares the two). Written here because the uuid
 * package's entry point loads 19 modules, ~20 ms of CPU at every start, for this one layout.
 * Every deterministic id (calls, turns, alerts) is made here.
 */
export function uuidV7(msecs: number, random: Uint8Array): string {
  const seq = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
  const b = [
    (msecs / 0x10000000000) & 0xff,
    (msecs / 0x100000000) & 0xff,
    (msecs / 0x1000000) & 0xff,
    (msecs / 0x10000) & 0xff,
    (msecs / 0x100) & 0xff,
    msecs & 0xff,
    0x70 | ((seq >>> 28) & 0x0f),
    (seq >>> 20) & 0xff,
    0x80 | ((seq >>> 14) & 0x3f),
    (seq >>> 6) & 0xff,
    ((seq << 2) & 0xff) | (random[10]! & 0x03),
    random[11]!,
    random[12]!,
    random[13]!,
    random[14]!,
    random[15]!,
  ];
  const h = (i: number): string => HEX_BYTE[b[i]!]!;
  return `${h(0)}${h(1)}${h(2)}${h(3)}-${h(4)}${h(5)}-${h(6)}${h(7)}-${h(8)}${h(9)}-${h(10)}${h(11)}${h(12)}${h(13)}${h(14)}${h(15)}`;
}
