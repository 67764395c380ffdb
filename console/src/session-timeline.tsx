/**
 * A session's turns on one time axis: one row per turn, a bar from its start to its end coloured by
 * status, with a tick at each of its calls. Rows link to the turn.
 */
import type { AgentTurnRecord } from './api.js';
import { turnPath } from './agent-ui.js';
import { niceTicks, useWidth } from './charts.js';
import { epochMs, ms, time } from './format.js';
import { navigate } from './router.js';

const LABEL_W = 190;
const RIGHT_PAD = 16;
const AXIS_H = 24;
const ROW_H = 22;
const BAR_H = 12;

export function SessionTimeline({ turns }: { turns: AgentTurnRecord[] }) {
  const [ref, width] = useWidth();
  if (turns.length === 0) return null;
  const starts = turns.map((t) => epochMs(t.start));
  const t0 = Math.min(...starts);
  const endOf = (t: AgentTurnRecord): number => Math.max(epochMs(t.start), ...(t.end ? [epochMs(t.end)] : []), ...t.steps.map((s) => epochMs(s.response_end ?? s.request_start)));
  const span = Math.max(1, Math.max(...turns.map(endOf)) - t0);
  const plotW = Math.max(60, width - LABEL_W - RIGHT_PAD);
  const x = (t: number): number => LABEL_W + ((t - t0) / span) * plotW;
  const ticks = niceTicks(span, Math.max(2, Math.floor(plotW / 110))).filter((t) => t <= span * 1.0001);
  const height = AXIS_H + turns.length * ROW_H + 6;
  return (
    <div className="turn-timeline" ref={ref} data-testid="session-timeline">
      <div className="timeline-scroll">
        <svg width={width} height={height} role="img" aria-label="session timeline">
          {ticks.map((t) => (
            <g key={t}>
              <line className="grid" x1={x(t0 + t)} x2={x(t0 + t)} y1={AXIS_H - 4} y2={height} />
              <text className="axis" x={x(t0 + t)} y={AXIS_H - 8} textAnchor={t === 0 ? 'start' : 'middle'}>
                +{ms(t)}
              </text>
            </g>
          ))}
          {turns.map((turn, i) => {
            const mid = AXIS_H + i * ROW_H + ROW_H / 2;
            const a = epochMs(turn.start);
            const w = Math.max(3, x(endOf(turn)) - x(a));
            return (
              <g key={turn.id} className="tl-step tl-turn" data-turn-id={turn.id} onClick={() => navigate(turnPath(turn.id))}>
                <title>{`turn #${i + 1}: ${turn.status.replace('_', ' ')}, ${turn.call_count} calls, ${ms(turn.duration_ms)}${turn.user_preview ? `\n${turn.user_preview.slice(0, 200)}` : ''}`}</title>
                <rect className={`tl-row-bg${i % 2 ? ' odd' : ''}`} x={0} y={mid - ROW_H / 2} width={width} height={ROW_H} />
                <text className="tl-label" x={8} y={mid + 4}>
                  <tspan className="tl-num">#{i + 1}</tspan> {time(turn.start).slice(11)}
                </text>
                <rect className={`tl-bar turn-${turn.status}`} x={x(a)} y={mid - BAR_H / 2} width={w} height={BAR_H} rx={2} />
                {turn.steps.map((s) => {
                  const sx = x(epochMs(s.request_start));
                  return <line key={s.call_id} className="tl-tick" x1={sx} x2={sx} y1={mid - BAR_H / 2} y2={mid + BAR_H / 2} />;
                })}
              </g>
            );
          })}
        </svg>
      </div>
    </div>
  );
}
