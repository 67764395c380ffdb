import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/defaults.js';
import { ConfigError } from '../../src/config/errors.js';
import { applyFlags } from '../../src/config/flags.js';
import { parseConfigText } from '../../src/config/load.js';

describe('workers setting', () => {
  it('defaults to auto; the file and --workers set it, the flag winning', () => {
    expect(defaultConfig({}).workers).toBe('auto');
    expect(parseConfigText('workers: 3\n', null, {}).workers).toBe(3);
    expect(parseConfigText('workers: auto\n', null, {}).workers).toBe('auto');
    const file = parseConfigText('workers: 3\n', null, {});
    expect(applyFlags(file, { workers: '1' }).workers).toBe(1);
    expect(applyFlags(file, { workers: 'auto' }).workers).toBe('auto');
    expect(applyFlags(file, {}).workers).toBe(3);
  });

  it('refuses counts that are not whole numbers from 1 to 64, naming the flag or key', () => {
    for (const bad of ['0', '-2', '1.5', 'many', '65', '']) expect(() => applyFlags(defaultConfig({}), { workers: bad })).toThrow(/--workers takes "auto" or a whole number from 1 to 64/);
    expect(() => applyFlags(defaultConfig({}), { workers: 'x' })).toThrow(ConfigError);
    for (const bad of ['workers: 0', 'workers: 2.5', 'workers: lots', 'workers: 100']) expect(() => parseConfigText(`${bad}\n`, null, {})).toThrow(/workers/);
  });
});
