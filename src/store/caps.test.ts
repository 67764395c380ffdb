import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { capBodyBytes, capBodyText, capEvents, omissionMarker } from './caps.js';

describe('capBodyText', () => {
  test('short text is kept whole, with its UTF-8 size', () => {
    expect(capBodyText('héllo', 4, 4)).toEqual({ text: 'héllo', truncated: false, size: 6 });
  });

  test('long text keeps head and tail bytes with a marker between', () => {
    const r = capBodyText('abcdefghijklmnopqrstuvwxyz', 5, 3);
    expect(r).toEqual({ text: `abcde${omissionMarker(18)}xyz`, truncated: true, size: 26 });
  });

  test('never splits a multi-byte character (property: head/tail are prefix/suffix of the input)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.nat(64), fc.nat(64), (s, h, t) => {
        const r = capBodyText(s, h, t);
        const size = Buffer.byteLength(s);
        expect(r.size).toBe(size);
        if (!r.truncated) {
          expect(r.text).toBe(s);
          return;
        }
        const cut = r.text.indexOf('\n[… llmtap: ');
        const head = r.text.slice(0, cut);
        const tail = r.text.slice(r.text.indexOf(' bytes omitted …]\n') + ' bytes omitted …]\n'.length);
        expect(s.startsWith(head)).toBe(true);
        expect(s.endsWith(tail)).toBe(true);
        expect(Buffer.byteLength(head)).toBeLessThanOrEqual(h);
        expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(t);
        expect(head).not.toContain('\uFFFD');
      }),
    );
  });
});

describe('capping what is already capped', () => {
  test('keeps the marker with the count of the first cut (the pipeline caps, then the store)', () => {
    const once = capBodyText('a'.repeat(400_000));
    expect(once.text).toContain(omissionMarker(400_000 - 256 * 1024 - 64 * 1024));
    const twice = capBodyText(once.text);
    expect(twice.text).toBe(once.text);
    expect(twice.truncated).toBe(false);
    const event = capEvents([{ ts: '2026-01-01T00:00:00.000000Z', event: 'e', data: 'é'.repeat(100) }], 10, 10, 21);
    expect(capEvents(event.events, 10, 10, 21).events).toEqual(event.events);
  });

  test('is a no-op on any capped text (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.nat(64), fc.nat(64), (s, h, t) => {
        const once = capBodyText(s, h, t);
        const twice = capBodyText(once.text, h, t);
        expect(twice.text).toBe(once.text);
      }),
    );
  });

  test('still cuts an uncapped text more than a marker over the cap', () => {
    const text = `${'a'.repeat(20)}${omissionMarker(5)}${'b'.repeat(20)}`;
    expect(capBodyText(text, 10, 10).truncated).toBe(true);
  });
});

test('any string, lone surrogates included, is capped without throwing', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.nat(64), fc.nat(64), (s, h, t) => {
      const r = capBodyText(s, h, t);
      if (r.truncated) expect(Buffer.byteLength(r.text)).toBeLessThanOrEqual(h + t + Buffer.byteLength(omissionMarker(r.size)));
      else expect(r.text).toBe(s);
    }),
  );
});

describe('capBodyBytes', () => {
  const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
  // What the store kept before bodies were bytes: the text, capped. The bytes must be its UTF-8.
  const sameAsText = (s: string, h: number, t: number): void => {
    const text = capBodyText(s, h, t);
    const bytes = capBodyBytes(utf8(s), h, t);
    expect(Buffer.from(bytes.bytes).toString('utf8'), s).toBe(text.text);
    expect(bytes.truncated).toBe(text.truncated);
    expect(bytes.size).toBe(text.size);
  };

  test('cuts the bytes where capBodyText cuts the text (property, multi-byte characters and markers included)', () => {
    const pieces = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.constantFrom('\uFEFF', 'é', '🦆', omissionMarker(7), '\n'),
    );
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 12 }), fc.nat(64), fc.nat(64), (parts, h, t) => sameAsText(parts.join(''), h, t)),
    );
  });

  test('a text capped once is left as it is, as capBodyText leaves it', () => {
    const once = capBodyText('é'.repeat(100), 20, 10);
    sameAsText(once.text, 20, 10);
    expect(capBodyBytes(utf8(once.text), 20, 10).truncated).toBe(false);
  });

  test('a U+FEFF where a cut falls is kept, in the text and in the bytes', () => {
    sameAsText(`\uFEFF${'a'.repeat(50)}`, 10, 10);
    sameAsText(`${'a'.repeat(50)}\uFEFF${'b'.repeat(7)}`, 10, 10);
    // The tail starts at the U+FEFF (10 bytes of tail: its 3 and 7 of b).
    expect(capBodyText(`${'a'.repeat(50)}\uFEFF${'b'.repeat(7)}`, 10, 10).text.endsWith(`\uFEFF${'b'.repeat(7)}`)).toBe(true);
    expect(capBodyText(`\uFEFF${'a'.repeat(50)}`, 10, 10).text.startsWith('\uFEFF')).toBe(true);
  });

  test('bytes within the cap come back as the same array', () => {
    const b = utf8('héllo');
    expect(capBodyBytes(b, 10, 10)).toEqual({ bytes: b, truncated: false, size: 6 });
    expect(capBodyBytes(b, 10, 10).bytes).toBe(b);
  });
});

describe('capEvents', () => {
  const ev = (i: number, data = String(i)) => ({ ts: '2026-01-01T00:00:00.000000Z', event: 'e', data });

  test('keeps head and tail events and counts the total', () => {
    const r = capEvents(Array.from({ length: 10 }, (_, i) => ev(i)), 3, 2);
    expect(r.events.map((e) => e.data)).toEqual(['0', '1', '2', '8', '9']);
    expect(r).toMatchObject({ total: 10, truncated: true });
  });

  test('caps a single oversized event without touching the input', () => {
    const input = [ev(0, 'x'.repeat(100))];
    const r = capEvents(input, 10, 10, 10);
    expect(r.truncated).toBe(true);
    expect(r.events[0]!.data.startsWith('x'.repeat(10))).toBe(true);
    expect(input[0]!.data.length).toBe(100);
  });

  test('small lists pass through unchanged', () => {
    const input = [ev(0), ev(1)];
    expect(capEvents(input)).toEqual({ events: input, total: 2, truncated: false });
  });
});
