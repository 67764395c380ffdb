import fc from 'fast-check';
import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { uuidV7 } from './ids.js';

describe('uuidV7', () => {
  it('is the uuid package\'s v7({ msecs, random }), for any time and bytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), fc.uint8Array({ minLength: 16, maxLength: 32 }), (msecs, random) => {
        expect(uuidV7(msecs, random)).toBe(uuidv7({ msecs, random }));
      }),
      { numRuns: 1000 },
    );
  });

  it('at the extremes of every byte', () => {
    for (const fill of [0x00, 0xff, 0x7f, 0x80]) {
      const random = new Uint8Array(16).fill(fill);
      for (const msecs of [0, 1, 2 ** 48 - 1, 1_768_467_603_123]) expect(uuidV7(msecs, random)).toBe(uuidv7({ msecs, random }));
    }
  });
});
