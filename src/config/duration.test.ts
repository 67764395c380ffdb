import { describe, expect, it } from 'vitest';
import { MAX_DURATION_MS, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it('reads each unit and plain seconds', () => {
    expect(parseDuration('500ms')).toEqual({ ok: true, ms: 500 });
    expect(parseDuration('30s')).toEqual({ ok: true, ms: 30_000 });
    expect(parseDuration('5m')).toEqual({ ok: true, ms: 300_000 });
    expect(parseDuration('1h')).toEqual({ ok: true, ms: 3_600_000 });
    expect(parseDuration('7d')).toEqual({ ok: true, ms: 604_800_000 });
    expect(parseDuration('1.5s')).toEqual({ ok: true, ms: 1_500 });
    expect(parseDuration(90)).toEqual({ ok: true, ms: 90_000 });
    expect(parseDuration('90')).toEqual({ ok: true, ms: 90_000 });
    expect(parseDuration(' 2 m ')).toEqual({ ok: true, ms: 120_000 });
  });

  it('says what to write instead', () => {
    expect(parseDuration('5 minutes')).toEqual({ ok: false, message: '"5 minutes" is not a duration (write 5m)' });
    expect(parseDuration('2hours')).toEqual({ ok: false, message: '"2hours" is not a duration (write 2h)' });
    const r = parseDuration('1h30m');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain('500ms, 30s, 5m, 1h, 7d');
  });

  it('refuses zero, negative, huge and non-scalar values', () => {
    for (const v of [0, '0s', -5, Number.NaN, `${MAX_DURATION_MS / 1000 + 1}`, '367d', null, true, [], {}]) {
      expect(parseDuration(v).ok, String(v)).toBe(false);
    }
    expect(parseDuration('366d').ok).toBe(true);
  });
});
