/**
 * Prometheus text exposition (format 0.0.4, prometheus.io/docs/instrumenting/exposition_formats)
 * of what the OpenTelemetry metrics SDK collected, named by the OpenTelemetry "Prometheus and
 * OpenMetrics Compatibility" rules (opentelemetry.io/docs/specs/otel/compatibility/prometheus_and_openmetrics):
 * characters outside [a-zA-Z0-9_:] become "_", the unit becomes a suffix (`s` → `_seconds`,
 * units in braces such as `{token}` are dropped), monotonic sums end in `_total`; attributes
 * become labels the same way. So `gen_ai.client.operation.duration` (unit s) is scraped as
 * `gen_ai_client_operation_duration_seconds`.
 *
 * Why not @opentelemetry/exporter-prometheus: every release of it pins exact versions of
 * sdk-metrics (0.223.0 wants sdk-metrics 2.12.0, the project has 2.12.1), so it would bring a
 * second copy of the SDK whose MetricReader is not the one our MeterProvider takes. The
 * serialisation is small and is checked with `promtool check metrics`.
 */
import { DataPointType, MetricReader, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Attributes } from '@opentelemetry/api';

/** A reader that only collects when asked (a scrape): no timer, nothing to flush. */
export class PullMetricReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }

  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** UCUM units (as the semantic conventions write them) → Prometheus base-unit suffixes. */
const UNIT_SUFFIX: Record<string, string> = {
  s: 'seconds',
  ms: 'milliseconds',
  By: 'bytes',
  USD: 'usd',
  '1': 'ratio',
};

export function metricName(name: string, unit: string, counter: boolean): string {
  let base = sanitize(name);
  const suffix = unit.startsWith('{') ? undefined : UNIT_SUFFIX[unit];
  if (suffix !== undefined && !base.endsWith(`_${suffix}`)) base += `_${suffix}`;
  if (counter && !base.endsWith('_total')) base += '_total';
  return base;
}

/** A label name: [a-zA-Z_][a-zA-Z0-9_]*, and not starting with "__" (reserved for Prometheus). */
export function labelName(key: string): string {
  let n = key.replace(/[^a-zA-Z0-9_]/g, '_');
  if (/^[0-9]/.test(n)) n = `_${n}`;
  if (n.startsWith('__')) n = `key${n}`;
  return n === '' ? 'key_' : n;
}

function sanitize(name: string): string {
  let n = name.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/__+/g, '_');
  if (/^[0-9]/.test(n)) n = `_${n}`;
  return n;
}

/** Label values: backslash, double quote and line feed escaped (exposition format). */
function escapeValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function labels(attrs: Attributes, extra: [string, string][] = []): string {
  const pairs = new Map<string, string>();
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    // Two keys that sanitise alike ("a.b", "a_b"): the first wins, so the line stays valid.
    const n = labelName(k);
    if (!pairs.has(n)) pairs.set(n, Array.isArray(v) ? v.join(',') : String(v));
  }
  for (const [k, v] of extra) pairs.set(k, v);
  if (pairs.size === 0) return '';
  return `{${[...pairs].map(([k, v]) => `${k}="${escapeValue(v)}"`).join(',')}}`;
}

interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  lines: string[];
}

function family(m: MetricData): Family {
  const d = m.descriptor;
  switch (m.dataPointType) {
    case DataPointType.SUM: {
      const counter = m.isMonotonic;
      const name = metricName(d.name, d.unit, counter);
      const lines = m.dataPoints.map((p) => `${name}${labels(p.attributes)} ${formatNumber(p.value)}`);
      return { name, type: counter ? 'counter' : 'gauge', help: d.description, lines };
    }
    case DataPointType.GAUGE: {
      const name = metricName(d.name, d.unit, false);
      const lines = m.dataPoints.map((p) => `${name}${labels(p.attributes)} ${formatNumber(p.value)}`);
      return { name, type: 'gauge', help: d.description, lines };
    }
    case DataPointType.HISTOGRAM: {
      const name = metricName(d.name, d.unit, false);
      const lines: string[] = [];
      for (const p of m.dataPoints) {
        const { boundaries, counts } = p.value.buckets;
        // OTel counts per bucket; Prometheus buckets are cumulative (le = "less or equal").
        let cumulative = 0;
        boundaries.forEach((b, i) => {
          cumulative += counts[i] ?? 0;
          lines.push(`${name}_bucket${labels(p.attributes, [['le', formatNumber(b)]])} ${cumulative}`);
        });
        lines.push(`${name}_bucket${labels(p.attributes, [['le', '+Inf']])} ${p.value.count}`);
        lines.push(`${name}_sum${labels(p.attributes)} ${formatNumber(p.value.sum ?? 0)}`);
        lines.push(`${name}_count${labels(p.attributes)} ${p.value.count}`);
      }
      return { name, type: 'histogram', help: d.description, lines };
    }
    default:
      // Exponential histograms: none of our instruments aggregates so.
      return { name: sanitize(d.name), type: 'gauge', help: d.description, lines: [] };
  }
}

/** The exposition text of one collection. A metric with no data point is still described, so
 * a scrape before the first call lists every metric llmtap exports. */
export function serializePrometheus(rm: ResourceMetrics): string {
  const families = new Map<string, Family>();
  for (const scope of rm.scopeMetrics) {
    for (const m of scope.metrics) {
      const f = family(m);
      const seen = families.get(f.name);
      if (seen === undefined) families.set(f.name, f);
      else if (seen.type === f.type) seen.lines.push(...f.lines);
    }
  }
  const out: string[] = [];
  for (const f of families.values()) {
    out.push(`# HELP ${f.name} ${escapeHelp(f.help || f.name)}`);
    out.push(`# TYPE ${f.name} ${f.type}`);
    out.push(...f.lines);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** Prometheus' content type for the text format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
