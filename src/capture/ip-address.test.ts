import { isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AddressFormatter, formatIpv6 } from './ip-address.js';
import { v6addr } from './test-builders.test-support.js';

const fmt = new AddressFormatter();

describe('IPv6 text (RFC 5952)', () => {
  // Examples from RFC 5952 §4 and the canonical forms it prescribes.
  const cases: [string, string][] = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'], // §4.1, §4.2.1
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2: one 0 group is not compressed
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // §4.2.3: the longest run
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // §4.2.3: the first of equal runs
    ['2001:DB8:0:0:0:0:0:ABCD', '2001:db8::abcd'], // §4.3: lower case
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['fe80:0:0:0:0:0:0:0', 'fe80::'],
    ['0:0:0:0:0:ffff:c000:0201', '::ffff:192.0.2.1'], // §5: IPv4-mapped
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ];
  for (const [input, want] of cases) {
    it(`${input} → ${want}`, () => {
      expect(fmt.ipv6(v6addr(input.toLowerCase()), 0)).toBe(want);
    });
  }

  it('agrees with the WHATWG URL serializer (same rules outside §5) on random addresses', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.array(fc.nat(7), { maxLength: 6 }), (b, zeroGroups) => {
        for (const g of zeroGroups) b[2 * g] = b[2 * g + 1] = 0; // make zero runs common
        const ours = formatIpv6(b, 0);
        expect(isIPv6(ours)).toBe(true);
        if (ours.startsWith('::ffff:') && ours.includes('.')) return;
        expect(new URL(`http://[${ours}]/`).hostname).toBe(`[${ours}]`);
      }),
      { numRuns: 3000 },
    );
  });

  it('the cache returns the right text when many addresses collide', () => {
    const rand = fc.sample(fc.uint8Array({ minLength: 16, maxLength: 16 }), { numRuns: 5000, seed: 7 });
    for (const b of [...rand, ...rand]) expect(fmt.ipv6(b, 0)).toBe(formatIpv6(b, 0));
  });
});

describe('IPv4 text', () => {
  it('dotted decimal, cached per address', () => {
    const f = new AddressFormatter();
    const a = Uint8Array.of(0, 192, 168, 0, 1, 255, 255, 255, 255);
    expect(f.ipv4(a, 1)).toBe('192.168.0.1');
    expect(f.ipv4(a, 5)).toBe('255.255.255.255');
    expect(f.ipv4(new Uint8Array(4), 0)).toBe('0.0.0.0');
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (b) => {
        expect(f.ipv4(b, 0)).toBe(Array.from(b).join('.'));
      }),
      { numRuns: 5000 },
    );
  });
});
