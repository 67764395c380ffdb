import { describe, expect, it } from 'vitest';
import { AUTO_MAX_WORKERS, AUTO_MIN_FILE_BYTES, resolveWorkers } from './worker-count.js';

describe('resolveWorkers', () => {
  it('keeps an explicit count', () => {
    expect(resolveWorkers(1, { cores: 64 })).toBe(1);
    expect(resolveWorkers(6, { cores: 2 })).toBe(6);
  });

  it('auto: in-thread on a small file or with too few spare cores; else one core for the main thread', () => {
    const big = AUTO_MIN_FILE_BYTES;
    expect(resolveWorkers('auto', { cores: 8, fileBytes: big - 1 })).toBe(1);
    expect(resolveWorkers('auto', { cores: 2, fileBytes: big * 10 })).toBe(1);
    expect(resolveWorkers('auto', { cores: 3, fileBytes: big })).toBe(2);
    expect(resolveWorkers('auto', { cores: 64, fileBytes: big })).toBe(AUTO_MAX_WORKERS);
    // A live source has no size: the cores decide.
    expect(resolveWorkers('auto', { cores: 4 })).toBe(3);
  });
});
