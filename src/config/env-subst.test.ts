import { describe, expect, it } from 'vitest';
import type { ConfigProblem } from './errors.js';
import { pathKey, substituteEnv, substituteString } from './env-subst.js';

describe('substituteString', () => {
  const env = { TOKEN: 'abc123', EMPTY: '' };

  it('replaces ${NAME}, and ${NAME:-fallback} when unset or empty', () => {
    expect(substituteString('Bearer ${TOKEN}', env)).toEqual({ text: 'Bearer abc123', used: true });
    expect(substituteString('${MISSING:-x}-${EMPTY:-y}-${TOKEN:-z}', env)).toEqual({ text: 'x-y-abc123', used: true });
    expect(substituteString('${EMPTY}', env)).toEqual({ text: '', used: true });
  });

  it('leaves other dollars alone and writes $${ as a literal ${', () => {
    expect(substituteString('cost $5 and $${HOME}', env)).toEqual({ text: 'cost $5 and ${HOME}', used: false });
  });

  it('names a missing variable, and refuses malformed references', () => {
    expect(substituteString('${NOPE}', env)).toEqual({ problem: 'environment variable NOPE is not set (write ${NOPE:-fallback} for a fallback)' });
    expect(substituteString('${TOKEN', env)).toHaveProperty('problem');
    expect(substituteString('${1BAD}', env)).toHaveProperty('problem');
  });
});

describe('substituteEnv', () => {
  it('substitutes string values at any depth, never keys, and remembers where the environment was used', () => {
    const problems: ConfigProblem[] = [];
    const r = substituteEnv({ webhooks: { ops: { url: 'https://h/${T}', headers: { '${T}': 'x' } } }, n: [1, '${T}'] }, { T: 'tok' }, problems);
    expect(problems).toEqual([]);
    expect(r.value).toEqual({ webhooks: { ops: { url: 'https://h/tok', headers: { '${T}': 'x' } } }, n: [1, 'tok'] });
    expect(r.fromEnv).toEqual(new Set([pathKey(['webhooks', 'ops', 'url']), pathKey(['n', 1])]));
  });

  it('reports each missing variable with its key path', () => {
    const problems: ConfigProblem[] = [];
    substituteEnv({ otlp: { headers: { authorization: '${OTLP_TOKEN}' } } }, {}, problems);
    expect(problems).toEqual([{ path: ['otlp', 'headers', 'authorization'], message: expect.stringContaining('OTLP_TOKEN is not set') }]);
  });
});
