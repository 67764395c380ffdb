import { describe, expect, it } from 'vitest';
import { attributeValue, MAX_ATTRIBUTE_CHARS } from './attribute-value.js';
import { REDACTED } from './secrets.js';

describe('attributeValue', () => {
  it('trims and removes control characters', () => {
    expect(attributeValue('  infra  ')).toBe('infra');
    expect(attributeValue('in\u0000fra\r\n\u0085\u007f')).toBe('infra');
    expect(attributeValue(' \t ')).toBeNull();
    expect(attributeValue('')).toBeNull();
  });

  it('redacts a key pasted into the header', () => {
    const key = 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345';
    expect(attributeValue(`team ${key}`)).toBe(`team ${REDACTED}`);
    expect(attributeValue(key)).toBe(REDACTED);
  });

  it('caps the length without splitting a character, and redacts before cutting', () => {
    expect(attributeValue('x'.repeat(500))).toBe('x'.repeat(MAX_ATTRIBUTE_CHARS));
    const emoji = `${'x'.repeat(MAX_ATTRIBUTE_CHARS - 1)}😀`;
    expect(attributeValue(emoji)).toBe('x'.repeat(MAX_ATTRIBUTE_CHARS - 1));
    // A key straddling the cap would otherwise leave its head in the value.
    const straddling = `${'x'.repeat(MAX_ATTRIBUTE_CHARS - 10)} sk-proj-abcdefghijklmnopqrstuvwxyz`;
    expect(attributeValue(straddling)).not.toContain('sk-proj');
  });
});
