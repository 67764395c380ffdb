/**
 * The call's timing (DESIGN §4) as bars on one time axis from request start: sending the request,
 * waiting for the response head (TTFB), waiting for the first token, generating, and the tail
 * after the last token.
 */
import type { CallTiming } from './api.js';
import { epochMs, ms } from './format.js';

interface Phase {
  label: string;
  from: string | null;
  to: string | null;
  color: string;
}

const W = 720;
const LABEL_W = 150;
const ROW_H = 24;

export function Waterfall({ timing }: { timing: CallTiming }) {
  const t0 = epochMs(timing.request_start);
  const phases: Phase[] = [
    { label: 'request sent', from: timing.request_start, to: timing.request_end, color: 'c1' },
    { label: 'waiting (TTFB)', from: timing.request_end ?? timing.request_start, to: timing.response_start, color: 'c5' },
    { label: 'to first token', from: timing.response_start, to: timing.first_token, color: 'c4' },
    { label: 'generating', from: timing.first_token, to: timing.last_token, color: 'c3' },
    { label: 'response end', from: timing.last_token ?? timing.response_start, to: timing.response_end, color: 'c2' },
  ];
  const marks: [string, string | null][] = [
    ['request start', timing.request_start],
    ['request end', timing.request_end],
    ['response start', timing.response_start],
    ['first token', timing.first_token],
    ['last token', timing.last_token],
    ['response end', timing.response_end],
  ];
  const ends = marks.map(([, t]) => (t ? epochMs(t) - t0 : 0));
  const total = Math.max(1, ...ends);
  const plotW = W - LABEL_W - 70;
  const x = (t: number): number => LABEL_W + (t / total) * plotW;
  const h = phases.length * ROW_H + 26;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * total);
  return (
    <div className="waterfall" data-testid="waterfall">
      <svg viewBox={`0 0 ${W} ${h}`} width="100%" role="img" aria-label="timing waterfall">
        {ticks.map((t) => (
          <g key={t}>
            <line className="grid" x1={x(t)} x2={x(t)} y1={0} y2={h - 18} />
            <text className="axis" x={x(t)} y={h - 4} textAnchor="middle">
              {ms(t)}
            </text>
          </g>
        ))}
        {phases.map((p, i) => {
          const y = i * ROW_H + 4;
          const known = p.from !== null && p.to !== null;
          const a = known ? epochMs(p.from!) - t0 : 0;
          const b = known ? epochMs(p.to!) - t0 : 0;
          return (
            <g key={p.label} data-phase={p.label}>
              <text className="wf-label" x={0} y={y + 14}>
                {p.label}
              </text>
              {known ? (
                <>
                  <rect className={`wf-bar ${p.color}`} x={x(a)} y={y + 3} width={Math.max(1.5, x(b) - x(a))} height={ROW_H - 8} rx={2} />
                  <text className="wf-value" x={Math.max(x(b), x(a) + 1.5) + 5} y={y + 14}>
                    {ms(b - a)}
                  </text>
                </>
              ) : (
                <text className="wf-value muted" x={LABEL_W} y={y + 14}>
                  not seen
                </text>
              )}
            </g>
          );
        })}
      </svg>
    </div>
  );
}
