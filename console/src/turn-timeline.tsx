/**
 * A turn's calls on one time axis: each call a bar from its request start to its response end,
 * one row per call, grouped in lanes (the main agent, then each sub-agent). Between two calls of a
 * lane, the time the agent spent running the tools the first call asked for is drawn as a dashed
 * gap; gaps the tracker flagged as stalls are red. Tool names are written on (or next to) the bar.
 */
import type { AgentTurnRecord, CallListItem, TurnStep } from './api.js';
import { niceTicks, useWidth } from './charts.js';
import { epochMs, ms, short } from './format.js';
import { navigate } from './router.js';

const LABEL_W = 240;
/** Right edge of the call numbers in the label column (room for "#999"). */
const NUM_END = 40;
const RIGHT_PAD = 16;
const AXIS_H = 24;
const LANE_H = 24;
const ROW_H = 24;
const BAR_H = 14;
/** Average glyph width of the 11 px labels, to decide whether a text fits (no layout pass). */
const CHAR_W = 6.2;
/** Model names are cut to this many characters in the row labels (the calls table has them whole). */
const MODEL_CHARS = 26;

interface Lane {
  key: string;
  title: string;
  steps: { step: TurnStep; index: number }[];
}

function laneKey(s: TurnStep): string {
  if (s.subagent_id !== null) return `sub:${s.subagent_id}`;
  return s.role === 'auxiliary' ? 'aux' : 'main';
}

/** Main agent first, then sub-agents in the order they first called, auxiliary calls last. */
export function lanesOf(steps: TurnStep[]): Lane[] {
  const lanes = new Map<string, Lane>();
  steps.forEach((step, index) => {
    const key = laneKey(step);
    let lane = lanes.get(key);
    if (!lane) {
      const sub = (step.subagent_id ?? '').replace(/^sub-/, '');
      const title = key === 'main' ? 'main agent' : key === 'aux' ? 'auxiliary' : `sub-agent ${sub}`;
      lane = { key, title, steps: [] };
      lanes.set(key, lane);
    }
    lane.steps.push({ step, index });
  });
  const rank = (l: Lane): number => (l.key === 'main' ? 0 : l.key === 'aux' ? 2 : 1);
  return [...lanes.values()].sort((a, b) => rank(a) - rank(b));
}

function cut(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

function barClass(step: TurnStep, isLast: boolean): string {
  if (step.status_code !== null && step.status_code >= 400) return 'tl-err';
  if (step.response_end === null) return 'tl-open';
  if (step.subagent_id !== null) return 'tl-sub';
  if (step.role === 'auxiliary') return 'tl-aux';
  return isLast && step.tool_calls.length === 0 ? 'tl-final' : 'tl-main';
}

/** Calls drawn: one SVG row each, so a runaway turn (the tracker keeps up to 5,000 steps,
 * src/agents/turn-state.ts STEPS_CAP) would make a page of DOM nodes; the calls table lists all. */
const MAX_DRAWN = 1_000;

export function TurnTimeline({ turn, calls }: { turn: AgentTurnRecord; calls: CallListItem[] }) {
  const [ref, width] = useWidth();
  const steps = turn.steps.slice(0, MAX_DRAWN);
  const byId = new Map(calls.map((c) => [c.id, c]));
  const stallAfter = new Map(turn.stalls.map((s) => [s.after_call_id, s.gap_ms]));

  const t0 = Math.min(epochMs(turn.start), ...steps.map((s) => epochMs(s.request_start)));
  const ends = steps.map((s) => epochMs(s.response_end ?? s.request_start));
  if (turn.end !== null) ends.push(epochMs(turn.end));
  const span = Math.max(1, Math.max(t0, ...ends) - t0);
  const plotW = Math.max(60, width - LABEL_W - RIGHT_PAD);
  const x = (t: number): number => LABEL_W + ((t - t0) / span) * plotW;
  const ticks = niceTicks(span, Math.max(2, Math.floor(plotW / 110))).filter((t) => t <= span * 1.0001);

  const lanes = lanesOf(steps);
  const lastIndex = turn.steps.length - 1;
  let y = AXIS_H;
  const laneTops: number[] = [];
  for (const lane of lanes) {
    laneTops.push(y);
    y += LANE_H + lane.steps.length * ROW_H;
  }
  const height = y + 6;

  return (
    <div className="turn-timeline" ref={ref} data-testid="turn-timeline">
      <div className="legend tl-legend">
        <span className="legend-item"><span className="swatch tl-main" />call</span>
        <span className="legend-item"><span className="swatch tl-final" />final answer</span>
        {turn.subagents.length > 0 && <span className="legend-item"><span className="swatch tl-sub" />sub-agent call</span>}
        <span className="legend-item"><span className="swatch tl-err" />error</span>
        {calls.some((c) => c.stream) && <span className="legend-item"><span className="swatch tl-wait-swatch" />waiting for the first token</span>}
        <span className="legend-item"><span className="gap-swatch" />running tools</span>
        {turn.stalls.length > 0 && <span className="legend-item"><span className="gap-swatch stall" />stall</span>}
      </div>
      {turn.steps.length > steps.length && (
        <div className="muted">
          The first {steps.length} of {turn.steps.length} calls are drawn; the table below lists them all.
        </div>
      )}
      <div className="timeline-scroll">
        <svg width={width} height={height} role="img" aria-label="turn timeline">
          {ticks.map((t) => (
            <g key={t}>
              <line className="grid" x1={x(t0 + t)} x2={x(t0 + t)} y1={AXIS_H - 4} y2={height} />
              <text className="axis" x={x(t0 + t)} y={AXIS_H - 8} textAnchor={t === 0 ? 'start' : 'middle'}>
                {ms(t)}
              </text>
            </g>
          ))}
          {lanes.map((lane, li) => {
            const top = laneTops[li]!;
            return (
              <g key={lane.key} className="tl-lane" data-lane={lane.key}>
                <rect className={`tl-lane-bg${li % 2 ? ' odd' : ''}`} x={0} y={top} width={width} height={LANE_H + lane.steps.length * ROW_H} />
                <text className="tl-lane-title" x={6} y={top + 16}>
                  {lane.title} · {lane.steps.length} {lane.steps.length === 1 ? 'call' : 'calls'}
                </text>
                {lane.steps.map(({ step, index }, k) => {
                  const rowTop = top + LANE_H + k * ROW_H;
                  const mid = rowTop + ROW_H / 2;
                  const a = epochMs(step.request_start);
                  const b = step.response_end === null ? Math.max(a, t0 + span) : epochMs(step.response_end);
                  const xa = x(a);
                  const barW = Math.max(2, x(b) - xa);
                  const call = byId.get(step.call_id);
                  const prev = k > 0 ? lane.steps[k - 1]!.step : null;
                  const prevEnd = prev?.response_end ? epochMs(prev.response_end) : null;
                  const gap = prev !== null && prevEnd !== null && prev.tool_calls.length > 0 && a > prevEnd ? { from: prevEnd, to: a, stall: stallAfter.has(prev.call_id) } : null;
                  const tools = step.tool_calls.join(', ');
                  const toolsW = tools.length * CHAR_W;
                  // Inside the bar when it fits, else after it, else before it.
                  const toolsAt: { x: number; anchor: 'start' | 'end'; inside: boolean } = toolsW + 10 <= barW ? { x: xa + 5, anchor: 'start', inside: true } : xa + barW + 5 + toolsW <= width - 2 ? { x: xa + barW + 5, anchor: 'start', inside: false } : { x: xa - 5, anchor: 'end', inside: false };
                  // Streamed calls: the part before the first token is the model thinking; without a
                  // stream the whole answer arrives at once, so the split says nothing.
                  const waitEnd = call?.stream ? call.timing.first_token : null;
                  const waitW = waitEnd ? Math.min(barW, Math.max(0, x(epochMs(waitEnd)) - xa)) : 0;
                  const tip = [
                    `call #${index + 1}${step.subagent_id ? ` (sub-agent ${step.subagent_id})` : ''}`,
                    step.model ?? 'model unknown',
                    `starts at +${ms(a - t0)}, ${step.response_end === null ? 'no response yet' : `takes ${ms(b - a)}`}`,
                    step.status_code === null ? 'no status' : `status ${step.status_code}`,
                    step.finish_reason ? `finish: ${step.finish_reason}` : null,
                    call ? `${short(call.usage.input_tokens)} tokens in, ${short(call.usage.output_tokens)} out` : null,
                    tools ? `tools: ${tools}` : null,
                  ]
                    .filter((s) => s !== null)
                    .join('\n');
                  return (
                    <g key={step.call_id} className="tl-step" data-step={index} data-call-id={step.call_id} data-start-ms={(a - t0).toFixed(3)}>
                      <text className="tl-label tl-num" x={NUM_END} y={mid + 4} textAnchor="end">
                        #{index + 1}
                      </text>
                      <text className="tl-label" x={NUM_END + 6} y={mid + 4}>
                        {cut(step.model ?? '?', MODEL_CHARS)}
                      </text>
                      {gap && (
                        <g className={`tl-gap${gap.stall ? ' stall' : ''}`} data-gap-after={prev!.call_id} data-stall={gap.stall ? 'true' : undefined}>
                          <title>{`${gap.stall ? 'stall: ' : ''}${ms(gap.to - gap.from)} between the call asking for ${prev!.tool_calls.join(', ')} and the next`}</title>
                          <line x1={x(gap.from)} x2={x(gap.to)} y1={mid} y2={mid} />
                          <line className="tl-gap-end" x1={x(gap.from)} x2={x(gap.from)} y1={mid - 4} y2={mid + 4} />
                          {x(gap.to) - x(gap.from) > ms(gap.to - gap.from).length * CHAR_W + 14 && (
                            <>
                              <rect className="tl-gap-label-bg" x={(x(gap.from) + x(gap.to)) / 2 - (ms(gap.to - gap.from).length * CHAR_W) / 2 - 3} y={mid - 7} width={ms(gap.to - gap.from).length * CHAR_W + 6} height={14} rx={3} />
                              <text className="tl-gap-label" x={(x(gap.from) + x(gap.to)) / 2} y={mid + 4} textAnchor="middle">
                                {ms(gap.to - gap.from)}
                              </text>
                            </>
                          )}
                        </g>
                      )}
                      <g className="tl-bar-group" onClick={() => navigate(`/calls/${step.call_id}`)}>
                        <title>{tip}</title>
                        <rect className={`tl-bar ${barClass(step, index === lastIndex)}`} x={xa} y={mid - BAR_H / 2} width={barW} height={BAR_H} rx={2} />
                        {waitW > 1 && <rect className="tl-wait" x={xa} y={mid - BAR_H / 2} width={waitW} height={BAR_H} rx={2} />}
                        {tools && (
                          <text className={`tl-tools${toolsAt.inside ? ' inside' : ''}`} x={toolsAt.x} y={mid + 4} textAnchor={toolsAt.anchor}>
                            {tools}
                          </text>
                        )}
                      </g>
                    </g>
                  );
                })}
              </g>
            );
          })}
        </svg>
      </div>
    </div>
  );
}
