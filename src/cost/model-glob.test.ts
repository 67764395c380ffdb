import { describe, expect, it } from 'vitest';
import { matchModelGlob } from './model-glob.js';

describe('matchModelGlob', () => {
  it('matches whole names, `*` standing for any run of characters', () => {
    expect(matchModelGlob('my-llama-*', 'my-llama-3.1-70b')).toBe(true);
    expect(matchModelGlob('my-llama-*', 'my-llama-')).toBe(true);
    expect(matchModelGlob('my-llama-*', 'your-my-llama-3')).toBe(false);
    expect(matchModelGlob('gpt-4o', 'gpt-4o-mini')).toBe(false);
    expect(matchModelGlob('gpt-4o', 'gpt-4o')).toBe(true);
    expect(matchModelGlob('*', '')).toBe(true);
    expect(matchModelGlob('*-instruct', 'qwen2.5-7b-instruct')).toBe(true);
    expect(matchModelGlob('a*b*c', 'a-b-x-c')).toBe(true);
    expect(matchModelGlob('a*b*c', 'a-c-b')).toBe(false);
  });

  it('ignores case and treats regex characters literally', () => {
    expect(matchModelGlob('Anthropic.Claude-*', 'anthropic.claude-3-haiku')).toBe(true);
    expect(matchModelGlob('llama3.1:8b', 'llama3x1:8b')).toBe(false);
    expect(matchModelGlob('(a+)+', '(a+)+')).toBe(true);
  });

  it('answers patterns that make a backtracking regex explode (a hang would hit the test timeout)', () => {
    expect(matchModelGlob(`${'*a'.repeat(40)}b`, 'a'.repeat(256))).toBe(false);
    expect(matchModelGlob(`${'*a'.repeat(40)}*`, 'a'.repeat(256))).toBe(true);
  });
});
