/**
 * What `llmtap top` shows, as a pure function of its state and the terminal's size: lines of
 * styled segments, each line at most `columns` cells, `rows - 1` lines in all (Ink clears the
 * whole terminal on every frame once its output reaches the terminal's height). app.ts only
 * paints these lines; tests read them.
 */
import type { LlmCallRecord } from '../core/record.js';
import type { WindowStats } from '../metrics/call-window.js';
import type { CallListItem, CostGroup } from '../store/types.js';
import type { TopState } from './controller.js';
import { ago, clean, clockTime, dateTime, fit, int, ms, percent, rate, textWidth, usd, wrap } from './format.js';

export type Tone = 'normal' | 'dim' | 'title' | 'header' | 'good' | 'warn' | 'bad' | 'selected';
export interface Segment {
  text: string;
  tone: Tone;
}
export type Line = Segment[];

export interface Size {
  columns: number;
  rows: number;
}

/** Below this the tables cannot show a useful row; say so instead of drawing garbage. */
export const MIN_COLUMNS = 60;
export const MIN_ROWS = 14;
/** Rows given to the per-model and per-process tables at most; the calls list gets the rest. */
const MAX_MODEL_ROWS = 8;
const MAX_PROCESS_ROWS = 6;
/** Lines of a call's output text shown in the detail (it is scrollable; the API caps nothing). */
const MAX_DETAIL_OUTPUT_LINES = 400;

const seg = (text: string, tone: Tone = 'normal'): Segment => ({ text, tone });

export function lineText(l: Line): string {
  return l.map((s) => s.text).join('');
}

export function screenOf(state: TopState, size: Size, nowMs: number): Line[] {
  const cols = Math.max(1, size.columns);
  const height = Math.max(1, size.rows - 1);
  if (size.columns < MIN_COLUMNS || size.rows < MIN_ROWS) {
    return [[seg(fit(`terminal too small (${size.columns}×${size.rows}; llmtap top needs ${MIN_COLUMNS}×${MIN_ROWS})`, cols), 'warn')]];
  }
  const out: Line[] = [];
  out.push(titleLine(state, cols, nowMs));
  out.push(statusLine(state, cols, nowMs));
  const data = state.data;
  const total = data?.live.total ?? null;
  out.push(statsLine(total, data?.inFlight ?? null, data?.live.window ?? state.window, cols));
  out.push(latencyLine(total, cols));

  const body = height - out.length - 1; // the footer
  const models = (data?.live.series ?? []).map((s) => ({ name: clean(s.labels['model'] ?? '') || '(unknown)', stats: s.stats }));
  const processRows = processLines(state);
  // Title + header per table, three tables (the detail replaces the calls table).
  const avail = Math.max(3, body - 6);
  const modelRows = Math.max(1, Math.min(models.length, MAX_MODEL_ROWS, Math.floor(avail / 4)));
  const procRows = Math.max(1, Math.min(processRows.length, MAX_PROCESS_ROWS, Math.floor(avail / 5)));
  const lowerRows = Math.max(1, avail - modelRows - procRows);

  out.push(...modelTable(models, modelRows, cols, data !== null));
  out.push(...processTable(processRows, procRows, cols, data?.live.window ?? null));
  if (state.detail !== null) out.push(...detailPane(state, lowerRows + 1, cols));
  else out.push(...callTable(data?.calls ?? [], state.selectedId, lowerRows, cols, data !== null));

  while (out.length < height - 1) out.push([seg('')]);
  out.length = Math.min(out.length, height - 1);
  out.push(footer(state, cols));
  return out;
}

function titleLine(state: TopState, cols: number, nowMs: number): Line {
  const live = state.data?.live;
  const left = `llmtap top  ${clean(state.base)}`;
  const parts = [`window ${clean(live?.window ?? state.window ?? '?')}`];
  if (live?.now) parts.push(`capture time ${dateTime(live.now)}`);
  if (state.lastOkAt !== null) parts.push(`updated ${ago(state.lastOkAt, nowMs)} ago`);
  const right = parts.join(' · ');
  const gap = cols - textWidth(left) - textWidth(right);
  if (gap < 2) return [seg(fit(left, cols), 'title')];
  return [seg(left, 'title'), seg(' '.repeat(gap)), seg(right, 'dim')];
}

function statusLine(state: TopState, cols: number, nowMs: number): Line {
  const p = state.problem;
  if (p === null) {
    if (state.data === null) return [seg(fit(`connecting to ${clean(state.base)}…`, cols), 'dim')];
    return [seg(fit('● connected', cols), 'good')];
  }
  const retry = state.retryAt === null ? '' : ` · retrying in ${Math.max(0, Math.ceil((state.retryAt - nowMs) / 1000))}s`;
  const stale = state.data !== null && state.lastOkAt !== null ? ` · showing what was read ${ago(state.lastOkAt, nowMs)} ago` : '';
  return [seg(fit(`✗ ${clean(p.message)}${retry}${stale}`, cols), 'bad')];
}

function statsLine(t: WindowStats | null, inFlight: number | null, window: string | null, cols: number): Line {
  const w = clean(window ?? '');
  const errors = t === null ? '—' : `${int(t.errors)} (${percent(t.error_rate)})`;
  const text = [
    `calls/s ${rate(t?.call_rate)}`,
    `active ${int(inFlight)}`,
    `calls ${int(t?.calls)}${w ? ` in ${w}` : ''}`,
    `errors ${errors}`,
    `429 ${int(t?.throttled)}`,
    `tokens/s ${rate(t?.token_rate)}`,
    `tokens ${int(t === null ? null : t.input_tokens + t.output_tokens)}`,
    `cost ${usd(t?.cost_usd)}`,
  ].join('   ');
  return [seg(fit(text, cols), 'normal')];
}

function latencyLine(t: WindowStats | null, cols: number): Line {
  const q = (name: string, x: { p50: number; p95: number; p99: number } | null | undefined): string =>
    `${name} p50 ${ms(x?.p50)}  p95 ${ms(x?.p95)}  p99 ${ms(x?.p99)}`;
  return [seg(fit([q('TTFT', t?.ttft_ms), q('TPOT', t?.tpot_ms), q('E2E', t?.e2e_ms)].join('   │   '), cols), 'normal')];
}

// ───────────────────────────── tables ─────────────────────────────

interface Column<R> {
  title: string;
  width: number;
  align: 'left' | 'right';
  /** Dropped first when the terminal is narrow: higher is dropped earlier. */
  drop: number;
  /** Takes the width left over (at most one column). */
  flex?: boolean;
  cell(r: R): string;
}

/** The columns that fit in `cols`, the flexible one widened to fill the line. */
function layout<R>(columns: Column<R>[], cols: number): Column<R>[] {
  let shown = [...columns];
  const need = (cs: Column<R>[]): number => cs.reduce((a, c) => a + c.width, 0) + (cs.length - 1) * 2 + 2;
  while (need(shown) > cols && shown.length > 1) {
    const worst = shown.reduce((a, c) => (c.drop > a.drop ? c : a));
    shown = shown.filter((c) => c !== worst);
  }
  const spare = cols - need(shown);
  return shown.map((c) => (c.flex && spare > 0 ? { ...c, width: c.width + spare } : c));
}

function headerLine<R>(cs: Column<R>[]): Line {
  return [seg(`  ${cs.map((c) => fit(c.title, c.width, c.align)).join('  ')}`, 'header')];
}

function rowLine<R>(cs: Column<R>[], r: R, selected: boolean): Line {
  const text = `${selected ? '› ' : '  '}${cs.map((c) => fit(clean(c.cell(r)), c.width, c.align)).join('  ')}`;
  return [seg(text, selected ? 'selected' : 'normal')];
}

function sectionTitle(text: string, cols: number): Line {
  return [seg(fit(text, cols), 'title')];
}

interface ModelRow {
  name: string;
  stats: WindowStats;
}

function modelTable(models: ModelRow[], rows: number, cols: number, connected: boolean): Line[] {
  const cs = layout<ModelRow>(
    [
      { title: 'MODEL', width: 24, align: 'left', drop: 0, flex: true, cell: (m) => m.name },
      { title: 'CALLS', width: 7, align: 'right', drop: 0, cell: (m) => int(m.stats.calls) },
      { title: 'CALLS/S', width: 8, align: 'right', drop: 3, cell: (m) => rate(m.stats.call_rate) },
      { title: 'ERR', width: 5, align: 'right', drop: 4, cell: (m) => int(m.stats.errors) },
      { title: 'IN TOK', width: 10, align: 'right', drop: 1, cell: (m) => int(m.stats.input_tokens) },
      { title: 'OUT TOK', width: 9, align: 'right', drop: 1, cell: (m) => int(m.stats.output_tokens) },
      { title: 'COST', width: 10, align: 'right', drop: 0, cell: (m) => usd(m.stats.cost_usd) },
      { title: 'TTFT p95', width: 9, align: 'right', drop: 5, cell: (m) => ms(m.stats.ttft_ms?.p95) },
      { title: 'E2E p95', width: 9, align: 'right', drop: 2, cell: (m) => ms(m.stats.e2e_ms?.p95) },
    ],
    cols,
  );
  const more = models.length > rows ? ` (top ${rows} of ${models.length})` : '';
  const lines = [sectionTitle(`BY MODEL${more}`, cols), headerLine(cs)];
  if (models.length === 0) lines.push([seg(fit(connected ? '  no calls in the window' : '  no data yet', cols), 'dim')]);
  for (const m of models.slice(0, rows)) lines.push(rowLine(cs, m, false));
  return lines;
}

type ProcessRow = { kind: 'group'; g: CostGroup } | { kind: 'note'; text: string };

function processLines(state: TopState): ProcessRow[] {
  const d = state.data;
  if (d === null) return [];
  if (d.processes === null) return [{ kind: 'note', text: d.processNote ?? 'not available' }];
  const groups = d.processes.groups;
  if (groups.length === 0) return [{ kind: 'note', text: 'no calls in the window' }];
  if (groups.every((g) => g.value === null)) {
    return [{ kind: 'note', text: 'no process attribution: captured traffic does not say which process sent it (llmtap ebpf does)' }];
  }
  return groups.map((g) => ({ kind: 'group', g }));
}

function processTable(rowsIn: ProcessRow[], rows: number, cols: number, window: string | null): Line[] {
  const cs = layout<CostGroup>(
    [
      { title: 'PROCESS', width: 24, align: 'left', drop: 0, flex: true, cell: (g) => (g.value === null ? '(no process: captured)' : g.value) },
      { title: 'CALLS', width: 7, align: 'right', drop: 0, cell: (g) => int(g.calls) },
      { title: 'IN TOK', width: 10, align: 'right', drop: 1, cell: (g) => int(g.input_tokens) },
      { title: 'OUT TOK', width: 9, align: 'right', drop: 1, cell: (g) => int(g.output_tokens) },
      { title: 'COST', width: 10, align: 'right', drop: 0, cell: (g) => usd(g.cost_usd) },
      { title: 'UNPRICED', width: 8, align: 'right', drop: 2, cell: (g) => int(g.unpriced_calls) },
    ],
    cols,
  );
  const groups = rowsIn.filter((r): r is { kind: 'group'; g: CostGroup } => r.kind === 'group');
  const more = groups.length > rows ? ` (top ${rows} of ${groups.length})` : '';
  const lines = [sectionTitle(`BY PROCESS${window ? ` (last ${clean(window)} of capture time)` : ''}${more}`, cols), headerLine(cs)];
  if (rowsIn.length === 0) lines.push([seg('')]);
  for (const r of rowsIn.slice(0, rows)) {
    lines.push(r.kind === 'note' ? [seg(fit(`  ${clean(r.text)}`, cols), 'dim')] : rowLine(cs, r.g, false));
  }
  return lines;
}

function processLabel(c: Pick<LlmCallRecord, 'process'>): string {
  const p = c.process;
  return p && typeof p === 'object' ? `${clean(p.comm)}[${clean(p.pid)}]` : '—';
}

const modelOf = (c: CallListItem): string => c.response_model ?? c.request_model ?? '(unknown)';

function statusOf(c: CallListItem): string {
  if (c.status_code === null || c.status_code === undefined) return c.error ? 'error' : 'none';
  return String(c.status_code);
}

function callTable(calls: CallListItem[], selectedId: string | null, rows: number, cols: number, connected: boolean): Line[] {
  const cs = layout<CallListItem>(
    [
      { title: 'TIME (UTC)', width: 12, align: 'left', drop: 0, cell: (c) => clockTime(c.timing?.request_start) },
      { title: 'PROVIDER', width: 9, align: 'left', drop: 7, cell: (c) => c.provider },
      { title: 'MODEL', width: 18, align: 'left', drop: 0, flex: true, cell: modelOf },
      { title: 'STATUS', width: 6, align: 'right', drop: 0, cell: statusOf },
      { title: 'FINISH', width: 9, align: 'left', drop: 5, cell: (c) => c.finish_reason ?? '—' },
      { title: 'IN', width: 7, align: 'right', drop: 2, cell: (c) => int(c.usage?.input_tokens) },
      { title: 'OUT', width: 6, align: 'right', drop: 2, cell: (c) => int(c.usage?.output_tokens) },
      { title: 'TTFT', width: 8, align: 'right', drop: 6, cell: (c) => ms(c.ttft_ms) },
      { title: 'E2E', width: 8, align: 'right', drop: 1, cell: (c) => ms(c.e2e_ms) },
      { title: 'COST', width: 8, align: 'right', drop: 1, cell: (c) => usd(c.cost_usd) },
      { title: 'PROCESS', width: 14, align: 'left', drop: 3, cell: processLabel },
      { title: 'ID', width: 36, align: 'left', drop: 4, cell: (c) => c.id },
    ],
    cols,
  );
  const at = Math.max(0, calls.findIndex((c) => c.id === selectedId));
  // Keep the selection in view: scroll by pages of the visible height.
  const first = calls.length <= rows ? 0 : Math.min(Math.floor(at / rows) * rows, calls.length - rows);
  const shown = calls.slice(first, first + rows);
  const range = calls.length > rows ? ` (${first + 1}–${first + shown.length} of ${calls.length} fetched)` : ` (${calls.length})`;
  const lines = [sectionTitle(`LATEST CALLS${range}`, cols), headerLine(cs)];
  if (calls.length === 0) lines.push([seg(fit(connected ? '  no calls stored yet' : '  no data yet', cols), 'dim')]);
  // No selection yet (or the selected call left the page): the newest is selected, as the keys
  // (controller.ts) take it.
  shown.forEach((c, i) => lines.push(rowLine(cs, c, first + i === at)));
  return lines;
}

// ───────────────────────────── call detail ─────────────────────────────

function detailPane(state: TopState, rows: number, cols: number): Line[] {
  const d = state.detail!;
  const lines: Line[] = [sectionTitle(`CALL ${clean(d.id)}`, cols)];
  let body: Line[];
  if (d.problem !== null) body = [[seg(fit(`  cannot load this call: ${clean(d.problem.message)}`, cols), 'bad')]];
  else if (d.answer === null) body = [[seg(fit('  loading…', cols), 'dim')]];
  else body = detailLines(d.answer.call, cols);
  const scroll = Math.min(d.scroll, Math.max(0, body.length - rows));
  lines.push(...body.slice(scroll, scroll + rows));
  return lines;
}

/** The fields a person checks first, then the output text, wrapped. */
export function detailLines(c: LlmCallRecord, cols: number): Line[] {
  const u = c.usage ?? ({} as Partial<LlmCallRecord['usage']>);
  const t = c.timing ?? ({} as Partial<LlmCallRecord['timing']>);
  const models = c.response_model && c.response_model !== c.request_model ? `${c.request_model ?? '—'} → ${c.response_model}` : (c.request_model ?? c.response_model ?? '—');
  const fields: [string, string][] = [
    ['model', models],
    ['provider / api', `${c.provider} · ${c.api} · ${c.operation}${c.stream ? ' · streamed' : ''}`],
    ['status', `${c.status_code ?? 'no response'} · finish ${c.finish_reason ?? '—'}${c.finish_reason_raw ? ` (${c.finish_reason_raw})` : ''}`],
    ['error', c.error ? `${c.error.type ?? ''} ${c.error.message ?? ''}`.trim() : '—'],
    ['started', `${t.request_start ?? '—'}`],
    ['latency', `TTFB ${ms(c.ttfb_ms)} · TTFT ${ms(c.ttft_ms)} · TPOT ${ms(c.tpot_ms)} · E2E ${ms(c.e2e_ms)} · ${rate(c.output_tokens_per_second)} tok/s`],
    [
      'tokens',
      `in ${int(u.input_tokens)} (cache read ${int(u.cache_read_tokens)}, write ${int(u.cache_write_tokens)}) · out ${int(u.output_tokens)} (reasoning ${int(u.reasoning_tokens)})${u.estimated ? ' · estimated' : ''}`,
    ],
    ['cost', `${usd(c.cost_usd)} (${c.cost_status})`],
    ['process', c.process ? `${processLabel(c)}${c.process.exe ? ` ${c.process.exe}` : ''}` : '— (not known for captured traffic)'],
    ['client → server', `${c.client?.ip}:${c.client?.port} → ${c.server?.host ?? c.server?.ip} (${c.server?.ip}:${c.server?.port})`],
    ['request', `${c.http?.method ?? ''} ${c.http?.path ?? ''} · ${int(c.http?.request_bytes)} B → ${int(c.http?.response_bytes)} B`],
    ['agent', c.agent ? `${c.agent} · ${c.agent_role ?? ''} · session ${c.session_id ?? '—'} · turn ${c.turn_id ?? '—'}` : '—'],
    ['tool calls', Array.isArray(c.tool_calls) && c.tool_calls.length > 0 ? c.tool_calls.map((x) => x.name).join(', ') : '—'],
    ['anomalies', Array.isArray(c.anomalies) && c.anomalies.length > 0 ? c.anomalies.join(', ') : '—'],
  ];
  const labelWidth = 16;
  const lines: Line[] = fields.map(([k, v]) => [seg(`  ${fit(k, labelWidth)}`, 'dim'), seg(fit(clean(v), Math.max(1, cols - labelWidth - 2)))]);
  const output = typeof c.content?.output_text === 'string' ? c.content.output_text : '';
  lines.push([seg('')], [seg('  output', 'header')]);
  if (output === '') lines.push([seg('  (no text output)', 'dim')]);
  const outLines: Line[] = [];
  for (const para of output.split('\n')) {
    for (const l of wrap(clean(para), Math.max(1, cols - 4))) {
      if (outLines.length >= MAX_DETAIL_OUTPUT_LINES) break;
      outLines.push([seg(`    ${l}`)]);
    }
  }
  lines.push(...outLines);
  return lines;
}

function footer(state: TopState, cols: number): Line {
  const text =
    state.detail !== null
      ? '↑/↓ j/k scroll · Esc/Enter back · q quit'
      : '↑/↓ j/k select · PgUp/PgDn · Enter detail · r refresh · q quit';
  return [seg(fit(text, cols), 'dim')];
}
