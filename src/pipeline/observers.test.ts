import { describe, expect, it } from 'vitest';
import type { LlmCallRecord } from '../core/record.js';
import { Observers, type RecordObserver } from './observers.js';

const call = { kind: 'llm_call', id: 'c1' } as LlmCallRecord;

describe('Observers', () => {
  it('hands each record to every observer, in order', async () => {
    const seen: string[] = [];
    const a: RecordObserver = { onCall: (c) => seen.push(`a:${c.id}`), onTime: (t) => seen.push(`a@${t}`), close: async () => void seen.push('a:close') };
    const b: RecordObserver = { onCall: (c) => seen.push(`b:${c.id}`) };
    const all = new Observers([a, b]);
    all.onCall(call);
    all.onTime(5);
    await all.close();
    expect(seen).toEqual(['a:c1', 'b:c1', 'a@5', 'a:close']);
  });

  it('one observer that throws neither stops the others nor reaches the pipeline', async () => {
    const errors: unknown[] = [];
    let reached = 0;
    const all = new Observers(
      [
        {
          onCall: () => {
            throw new Error('bug');
          },
          close: () => Promise.reject(new Error('close bug')),
        },
        { onCall: () => void reached++ },
      ],
      (e) => errors.push(e),
    );
    all.onCall(call);
    all.onCall(call);
    await all.close();
    expect(reached).toBe(2);
    expect(all.failures).toBe(3);
    expect(errors.map((e) => (e as Error).message)).toEqual(['bug', 'bug', 'close bug']);
  });
});
