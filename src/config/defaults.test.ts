import { describe, expect, it } from 'vitest';
import { defaultConfig } from './defaults.js';
import { parseConfigText } from './load.js';

describe('defaultConfig', () => {
  it('is what loading an empty configuration yields', () => {
    expect(defaultConfig({})).toEqual(parseConfigText('', null, {}));
    const env = { LLMTAP_FINGERPRINT_SALT: 'pepper' };
    expect(defaultConfig(env)).toEqual(parseConfigText('', null, env));
  });
});
