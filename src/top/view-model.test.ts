/**
 * What `llmtap top` shows from given API answers: every number on screen is read back and
 * compared with the answers it came from, at a wide and a narrow terminal size.
 */
import { describe, expect, it } from 'vitest';
import type { LlmCallRecord } from '../core/record.js';
import type { TopState } from './controller.js';
import { textWidth } from './format.js';
import { demoCalls, liveOf, pageOf, processCostsOf } from './test-api.test-support.js';
import { lineText, screenOf } from './view-model.js';

const NOW = 1_700_000_000_000;

function stateOf(calls: LlmCallRecord[], patch: Partial<TopState> = {}): TopState {
  return {
    base: 'http://127.0.0.1:3000',
    window: '1m',
    data: { live: liveOf(calls), inFlight: 3, calls: pageOf(calls).items, processes: processCostsOf(calls), processNote: null },
    problem: null,
    lastOkAt: NOW - 2000,
    retryAt: null,
    failures: 0,
    selectedId: null,
    detail: null,
    ...patch,
  };
}

const screen = (s: TopState, columns = 160, rows = 48): string[] => screenOf(s, { columns, rows }, NOW).map(lineText);
const rowOf = (lines: string[], start: string): string | undefined => lines.find((l) => l.trimStart().replace(/^› /, '').startsWith(start));
const cells = (line: string): string[] => line.replace(/^› /, '').trim().split(/\s{2,}/);

describe('top screen', () => {
  const calls = demoCalls();
  const live = liveOf(calls);

  it('the headline shows the window\'s rate, active calls, errors, tokens, cost and percentiles', () => {
    const lines = screen(stateOf(calls));
    expect(lines[0]).toMatch(/^llmtap top {2}http:\/\/127\.0\.0\.1:3000 .*window 1m · capture time \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC · updated 2s ago$/);
    expect(lines[1]).toBe('● connected'.padEnd(160));
    const t = live.total;
    expect(t.calls).toBe(12);
    expect(lines[2]).toContain(`calls/s ${t.call_rate.toFixed(2)}`);
    expect(lines[2]).toContain('active 3');
    expect(lines[2]).toContain('calls 12 in 1m');
    expect(lines[2]).toContain(`errors 1 (${((1 / 12) * 100).toFixed(1)}%)`);
    expect(lines[2]).toContain(`tokens ${(t.input_tokens + t.output_tokens).toLocaleString('en-US')}`);
    expect(lines[2]).toContain(`cost $${t.cost_usd.toFixed(4)}`);
    expect(lines[3]).toContain(`E2E p50 ${Math.round(t.e2e_ms!.p50)} ms`);
  });

  it('one row per model with its calls, tokens and cost, most calls first', () => {
    const lines = screen(stateOf(calls));
    for (const s of live.series) {
      const row = rowOf(lines, s.labels['model']!);
      expect(row, s.labels['model']).toBeDefined();
      const c = cells(row!);
      expect(c[0]).toBe(s.labels['model']);
      expect(Number(c[1])).toBe(s.stats.calls);
      expect(c).toContain(s.stats.input_tokens.toLocaleString('en-US'));
      expect(c).toContain(`$${s.stats.cost_usd.toFixed(4)}`);
    }
  });

  it('one row per process (by program name), and a plain note when no call has a process', () => {
    const lines = screen(stateOf(calls));
    const costs = processCostsOf(calls);
    for (const g of costs.groups) {
      const row = rowOf(lines, g.value ?? '(no process: captured)');
      expect(row, String(g.value)).toBeDefined();
      expect(Number(cells(row!)[1])).toBe(g.calls);
      expect(cells(row!)).toContain(g.cost_usd === null ? '—' : `$${g.cost_usd.toFixed(4)}`);
    }
    const captured = calls.map(({ process: _p, ...c }) => c as LlmCallRecord);
    expect(screen(stateOf(captured)).join('\n')).toContain('no process attribution: captured traffic does not say which process sent it');
  });

  it('the latest calls, newest first, with the first selected; the selection follows its id', () => {
    const page = pageOf(calls).items;
    let lines = screen(stateOf(calls));
    const listed = lines.filter((l) => page.some((c) => l.includes(c.id)));
    expect(listed.map((l) => page.find((c) => l.includes(c.id))!.id)).toEqual(page.map((c) => c.id));
    expect(listed[0]).toMatch(/^› /);
    expect(listed.slice(1).every((l) => l.startsWith('  '))).toBe(true);
    // A process shows as comm[pid]; a captured call as —.
    const withProc = page.find((c) => c.process !== undefined)!;
    expect(lines.find((l) => l.includes(withProc.id))).toContain(`${withProc.process!.comm}[${withProc.process!.pid}]`);
    lines = screen(stateOf(calls, { selectedId: page[4]!.id }));
    expect(lines.filter((l) => l.startsWith('› '))).toEqual([expect.stringContaining(page[4]!.id)]);
  });

  it('the detail of the selected call replaces the list and can be scrolled', () => {
    const c = { ...calls[4]!, content: { output_text: 'first line\nsecond line', reasoning_text: '' } };
    const s = stateOf(calls, { selectedId: c.id, detail: { id: c.id, answer: { call: c }, problem: null, scroll: 0 } });
    const lines = screen(s);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^CALL ${c.id}`)));
    expect(lines.find((l) => l.trimStart().startsWith('model'))).toContain(c.response_model!);
    expect(lines.find((l) => l.trimStart().startsWith('process'))).toContain(`${c.process!.comm}[${c.process!.pid}] ${c.process!.exe}`);
    expect(lines.find((l) => l.trimStart().startsWith('tokens'))).toContain(`in ${c.usage.input_tokens!.toLocaleString('en-US')}`);
    expect(lines.some((l) => l.trim() === 'second line')).toBe(true);
    expect(lines.some((l) => l.includes(calls[0]!.id))).toBe(false);
    // Scrolling moves only what does not fit (24 rows leave the detail a few lines).
    expect(screen({ ...s, detail: { ...s.detail!, scroll: 2 } })).toEqual(lines);
    const small = screen(s, 160, 24);
    expect(small.some((l) => l.trimStart().startsWith('model'))).toBe(true);
    const scrolled = screen({ ...s, detail: { ...s.detail!, scroll: 2 } }, 160, 24);
    expect(scrolled.some((l) => l.trimStart().startsWith('model'))).toBe(false);
    expect(scrolled.some((l) => l.trimStart().startsWith('status'))).toBe(true);
  });

  it('an unreachable API or a wrong token is said plainly, with the retry, over the last data read', () => {
    const down = screen(
      stateOf(calls, {
        problem: { kind: 'unreachable', message: 'cannot reach http://127.0.0.1:3000: connection refused', status: null },
        retryAt: NOW + 4000,
        lastOkAt: NOW - 65_000,
      }),
    );
    expect(down[1]!.trimEnd()).toBe('✗ cannot reach http://127.0.0.1:3000: connection refused · retrying in 4s · showing what was read 1m05s ago');
    expect(down.join('\n')).toContain(calls[0]!.id);
    const never = screen({ ...stateOf([]), data: null, lastOkAt: null, problem: { kind: 'unauthorized', message: 'refused the token (401)', status: 401 }, retryAt: NOW + 1000 });
    expect(never[1]!.trimEnd()).toBe('✗ refused the token (401) · retrying in 1s');
    expect(never.join('\n')).toContain('no data yet');
  });

  it('fits any terminal: exactly rows − 1 lines, none wider than the terminal; too small says so', () => {
    for (const [cols, rows] of [
      [160, 48],
      [100, 30],
      [60, 14],
    ] as const) {
      const lines = screen(stateOf(calls), cols, rows);
      expect(lines).toHaveLength(rows - 1);
      for (const l of lines) expect(textWidth(l)).toBeLessThanOrEqual(cols);
    }
    // Narrow: the ID column goes before the model and the status.
    const narrow = screen(stateOf(calls), 100, 30);
    expect(narrow.some((l) => l.includes(calls[0]!.id))).toBe(false);
    expect(narrow.some((l) => /^› \d\d:\d\d:\d\d\.\d{3} +gemini-2\.5-flash +200/.test(l))).toBe(true);
    expect(screen(stateOf(calls), 50, 10)).toEqual([expect.stringContaining('terminal too small (50×10; llmtap top needs 60×14)')]);
  });

  it('captured text cannot reach the terminal as control sequences', () => {
    const evil = calls.map((c, i) => (i === 11 ? { ...c, response_model: 'gpt\u001b]0;pwned\u0007-4o\u009b2J\u202e', process: { pid: 1, comm: 'x\u001b[31m', exe: null } } : c));
    const out = screen(stateOf(evil)).join('\n');
    // eslint-disable-next-line no-control-regex
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(out).toContain('gpt ]0;pwned -4o 2J');
  });
});
