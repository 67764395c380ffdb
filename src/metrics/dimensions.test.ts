import { describe, expect, it } from 'vitest';
import { dimensionValue, isBuiltinDimension, matchesFilters } from './dimensions.js';
import { callAt } from './test-calls.test-support.js';

describe('dimensions', () => {
  const call = { ...callAt({ at: 0, model: 'gpt-4o', attributes: { team: 'search' } }), agent: 'codex', api_key_fingerprint: 'fp1' };

  it('reads every built-in dimension from the record', () => {
    expect(dimensionValue(call, 'provider')).toBe('openai');
    expect(dimensionValue(call, 'model')).toBe('gpt-4o');
    expect(dimensionValue(call, 'agent')).toBe('codex');
    expect(dimensionValue(call, 'key')).toBe('fp1');
    expect(dimensionValue(call, 'client')).toBe(call.client.ip);
    expect(dimensionValue(call, 'source')).toBe(call.source);
  });

  it('server is the host the client named, else the address without port (as the store groups it)', () => {
    expect(dimensionValue({ ...call, server: { ip: '10.0.0.1', port: 443, host: 'api.openai.com' } }, 'server')).toBe('api.openai.com');
    expect(dimensionValue({ ...call, server: { ip: '10.0.0.1', port: 8000, host: null } }, 'server')).toBe('10.0.0.1');
  });

  it('the model is the one that answered, else the one asked for', () => {
    expect(dimensionValue({ ...call, request_model: 'gpt-4o', response_model: 'gpt-4o-2024-08-06' }, 'model')).toBe('gpt-4o-2024-08-06');
    expect(dimensionValue({ ...call, response_model: null }, 'model')).toBe('gpt-4o');
  });

  it('any other name is an attribute; a missing one is null and matches no filter', () => {
    expect(isBuiltinDimension('team')).toBe(false);
    expect(dimensionValue(call, 'team')).toBe('search');
    expect(dimensionValue(call, 'project')).toBeNull();
    expect(matchesFilters(call, { team: 'search', model: 'gpt-4o' })).toBe(true);
    expect(matchesFilters(call, { team: 'ads' })).toBe(false);
    expect(matchesFilters(call, { project: '' })).toBe(false);
    expect(matchesFilters(call, {})).toBe(true);
  });

  it('process is the program name, the same across pids; calls whose source cannot tell have none', () => {
    const a = { ...call, process: { pid: 4242, comm: 'node', exe: '/usr/bin/node' } };
    const b = { ...call, process: { pid: 5151, comm: 'node', exe: null } };
    expect(dimensionValue(a, 'process')).toBe('node');
    expect(dimensionValue(b, 'process')).toBe('node');
    expect(dimensionValue(call, 'process')).toBeNull();
    expect(matchesFilters(a, { process: 'node' })).toBe(true);
    expect(matchesFilters(call, { process: 'node' })).toBe(false);
  });
});
