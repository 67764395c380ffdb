import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultStateDir, stableProbeId, withoutOwnTraffic } from './probe-command.js';

describe('the probe never captures its own batches', () => {
  it.each([
    [undefined, '10.0.0.5', '5556', 'not (host 10.0.0.5 and tcp port 5556)'],
    ['tcp port 443', '10.0.0.5', '5556', '(tcp port 443) and not (host 10.0.0.5 and tcp port 5556)'],
    ['  ', '[fd00::5]', '5556', 'not (host fd00::5 and tcp port 5556)'],
    ['tcp port 8000 or tcp port 443', 'collector.internal', '5556', '(tcp port 8000 or tcp port 443) and not tcp port 5556'],
  ])('filter %s, collector %s:%s', (filter, host, port, want) => {
    expect(withoutOwnTraffic(filter, host, port)).toBe(want);
  });
});

describe('the probe id', () => {
  let dir = '';
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is made once and read back the same on the next start', () => {
    dir = mkdtempSync(join(tmpdir(), 'llmtap-probe-id-'));
    const state = join(dir, 'nested', 'llmtap');
    const first = stableProbeId(state);
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(readFileSync(join(state, 'probe-id'), 'utf8')).toBe(`${first}\n`);
    expect(stableProbeId(state)).toBe(first);
  });

  it('refuses a state file that does not hold a UUID, saying what to do', () => {
    dir = mkdtempSync(join(tmpdir(), 'llmtap-probe-id-'));
    writeFileSync(join(dir, 'probe-id'), 'garbage\n');
    expect(() => stableProbeId(dir)).toThrow(/probe-id does not hold a UUID: remove it .* or pass --probe-id/);
  });

  it('lives under LLMTAP_STATE_DIR, else XDG_STATE_HOME, else ~/.local/state', () => {
    expect(defaultStateDir({ LLMTAP_STATE_DIR: '/srv/llmtap', XDG_STATE_HOME: '/x' })).toBe('/srv/llmtap');
    expect(defaultStateDir({ XDG_STATE_HOME: '/x' })).toBe('/x/llmtap');
    expect(defaultStateDir({})).toMatch(/\/\.local\/state\/llmtap$/);
  });
});
