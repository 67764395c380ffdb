/**
 * Small SVG charts (lines and bars over time) with a hover read-out. Hand-written rather than a
 * library: a few hundred lines cover what the console shows, and everything stays inside the
 * server's CSP (no inline style sheets; sizes are SVG attributes, positions set through the DOM).
 */
import { useEffect, useRef, useState, type MouseEvent } from 'react';
import { axisTime, time } from './format.js';

export interface Series {
  name: string;
  values: (number | null)[];
  /** A CSS class from styles.css (c1…c6) giving the colour. */
  color: string;
}

interface ChartProps {
  title: string;
  /** Bucket starts, epoch ms. */
  x: number[];
  series: Series[];
  kind?: 'line' | 'bar';
  /** Formats a value for the axis and the read-out. */
  format: (v: number) => string;
  height?: number;
  testId?: string;
}

const PAD = { top: 8, right: 12, bottom: 22, left: 56 };

export function useWidth(): [React.RefObject<HTMLDivElement | null>, number] {
  const ref = useRef<HTMLDivElement | null>(null);
  const [w, setW] = useState(600);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver((entries) => {
      const cw = entries[0]?.contentRect.width;
      if (cw !== undefined && cw > 0) setW(Math.floor(cw));
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, w];
}

/** 1, 2 or 5 × 10^k steps giving about `n` ticks up to `max`. */
export function niceTicks(max: number, n = 4): number[] {
  if (!(max > 0)) return [0];
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= max * 1.0001 + step / 2 && out.length < 12; v += step) out.push(v);
  return out;
}

export function Chart({ title, x, series, kind = 'line', format, height = 180, testId }: ChartProps) {
  const [ref, width] = useWidth();
  const [hover, setHover] = useState<number | null>(null);
  const tipRef = useRef<HTMLDivElement | null>(null);

  const n = x.length;
  let max = 0;
  for (const s of series) for (const v of s.values) if (v !== null && v > max) max = v;
  const ticks = niceTicks(max);
  const top = ticks[ticks.length - 1] ?? 1;
  const plotW = Math.max(10, width - PAD.left - PAD.right);
  const plotH = height - PAD.top - PAD.bottom;
  const x0 = x[0] ?? 0;
  const last = x[n - 1] ?? x0;
  const step = n > 1 ? (last - x0) / (n - 1) : 1;
  const span = last - x0 + step;
  const px = (i: number): number => PAD.left + (n <= 1 ? plotW / 2 : (i / (n - 1)) * plotW);
  const py = (v: number): number => PAD.top + plotH - (top > 0 ? (v / top) * plotH : 0);
  const barW = Math.max(1, (plotW / Math.max(1, n)) * 0.8 / Math.max(1, series.length));

  const onMove = (e: MouseEvent<SVGSVGElement>): void => {
    if (n === 0) return;
    const r = e.currentTarget.getBoundingClientRect();
    const rel = (e.clientX - r.left - PAD.left) / plotW;
    setHover(Math.min(n - 1, Math.max(0, Math.round(rel * (n - 1)))));
  };

  useEffect(() => {
    const tip = tipRef.current;
    if (!tip || hover === null) return;
    const left = px(hover);
    // Positioned through the DOM (CSSOM), which the CSP allows; keep it inside the chart.
    tip.style.left = `${Math.min(Math.max(0, left + 10), Math.max(0, width - tip.offsetWidth))}px`;
  });

  const xLabels: number[] = [];
  if (n > 0) {
    const count = Math.max(2, Math.min(6, Math.floor(plotW / 110)));
    for (let k = 0; k < count; k++) xLabels.push(Math.round((k / (count - 1)) * (n - 1)));
  }

  return (
    <div className="chart" data-testid={testId}>
      <div className="chart-head">
        <span className="chart-title">{title}</span>
        <span className="legend">
          {series.map((s) => (
            <span key={s.name} className="legend-item">
              <span className={`swatch ${s.color}`} />
              {s.name}
            </span>
          ))}
        </span>
      </div>
      <div className="chart-body" ref={ref}>
        {n === 0 ? (
          <div className="empty chart-empty">no data</div>
        ) : (
          <svg width={width} height={height} onMouseMove={onMove} onMouseLeave={() => setHover(null)} role="img" aria-label={title}>
            {ticks.map((t) => (
              <g key={t}>
                <line className="grid" x1={PAD.left} x2={PAD.left + plotW} y1={py(t)} y2={py(t)} />
                <text className="axis" x={PAD.left - 6} y={py(t) + 4} textAnchor="end">
                  {format(t)}
                </text>
              </g>
            ))}
            {xLabels.map((i, k) => (
              <text key={k} className="axis" x={px(i)} y={height - 6} textAnchor={k === 0 ? 'start' : k === xLabels.length - 1 ? 'end' : 'middle'}>
                {axisTime(x[i]!, span)}
              </text>
            ))}
            {series.map((s, si) =>
              kind === 'bar' ? (
                <g key={s.name} className={`bars ${s.color}`}>
                  {s.values.map((v, i) =>
                    v === null || v === 0 ? null : (
                      <rect
                        key={i}
                        x={px(i) - (barW * series.length) / 2 + si * barW}
                        y={py(v)}
                        width={barW}
                        height={Math.max(1, PAD.top + plotH - py(v))}
                      />
                    ),
                  )}
                </g>
              ) : (
                <g key={s.name} className={`line ${s.color}`}>
                  <path d={linePath(s.values, px, py)} />
                  {s.values.filter((v) => v !== null).length <= 60 &&
                    s.values.map((v, i) => (v === null ? null : <circle key={i} cx={px(i)} cy={py(v)} r={2.2} />))}
                </g>
              ),
            )}
            {hover !== null && <line className="hover-line" x1={px(hover)} x2={px(hover)} y1={PAD.top} y2={PAD.top + plotH} />}
          </svg>
        )}
        {hover !== null && n > 0 && (
          <div className="tooltip" ref={tipRef}>
            <div className="tooltip-time">{time(new Date(x[hover]!).toISOString())}</div>
            {series.map((s) => (
              <div key={s.name}>
                <span className={`swatch ${s.color}`} />
                {s.name}: <b>{s.values[hover] === null || s.values[hover] === undefined ? '–' : format(s.values[hover]!)}</b>
              </div>
            ))}
          </div>
        )}
      </div>
    </div>
  );
}

/** A path through the non-null points. Empty buckets (null percentiles) are bridged: with sparse
 * traffic most buckets are empty and a broken line would show nothing but dots. */
function linePath(values: (number | null)[], px: (i: number) => number, py: (v: number) => number): string {
  let d = '';
  values.forEach((v, i) => {
    if (v === null) return;
    d += `${d === '' ? 'M' : 'L'}${px(i).toFixed(1)},${py(v).toFixed(1)}`;
  });
  return d;
}
