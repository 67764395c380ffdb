/**
 * A real OTLP/HTTP receiver for tests: a local HTTP server that decodes what it is sent with
 * protobufjs and the official message definitions, independently of the encoder llmtap uses.
 *
 * The .proto text below is the subset of opentelemetry-proto v1.5.0 that the tests read
 * (opentelemetry/proto/{common,resource,trace,metrics}/v1/*.proto and
 * collector/{trace,metrics}/v1/*_service.proto, https://github.com/open-telemetry/opentelemetry-proto),
 * Copyright The OpenTelemetry Authors, Apache License 2.0. Field numbers and types are copied
 * unchanged; messages and fields the tests do not read are left out (protobuf skips them).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

const PROTO = `
syntax = "proto3";
package opentelemetry.proto;

message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }

message Status { string message = 2; StatusCode code = 3; enum StatusCode { STATUS_CODE_UNSET = 0; STATUS_CODE_OK = 1; STATUS_CODE_ERROR = 2; } }
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  fixed32 flags = 16;
  string name = 5;
  SpanKind kind = 6;
  enum SpanKind { SPAN_KIND_UNSPECIFIED = 0; SPAN_KIND_INTERNAL = 1; SPAN_KIND_SERVER = 2; SPAN_KIND_CLIENT = 3; SPAN_KIND_PRODUCER = 4; SPAN_KIND_CONSUMER = 5; }
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10;
  Status status = 15;
}
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }
message ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }

enum AggregationTemporality { AGGREGATION_TEMPORALITY_UNSPECIFIED = 0; AGGREGATION_TEMPORALITY_DELTA = 1; AGGREGATION_TEMPORALITY_CUMULATIVE = 2; }
message NumberDataPoint {
  repeated KeyValue attributes = 7;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  oneof value { double as_double = 4; sfixed64 as_int = 6; }
}
message HistogramDataPoint {
  repeated KeyValue attributes = 9;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  fixed64 count = 4;
  optional double sum = 5;
  repeated fixed64 bucket_counts = 6;
  repeated double explicit_bounds = 7;
}
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum { repeated NumberDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2; bool is_monotonic = 3; }
message Histogram { repeated HistogramDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2; }
message Metric {
  string name = 1;
  string description = 2;
  string unit = 3;
  oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; }
}
message ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; string schema_url = 3; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3; }
message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
`;

const root = protobuf.parse(PROTO, { keepCase: true }).root;
const TraceRequest = root.lookupType('opentelemetry.proto.ExportTraceServiceRequest');
const MetricsRequest = root.lookupType('opentelemetry.proto.ExportMetricsServiceRequest');
const TraceResponse = root.lookupType('opentelemetry.proto.ExportTraceServiceResponse');

/** Wire values as protobufjs's toObject gives them: int64/fixed64 as decimal strings. */
interface PbAnyValue {
  string_value?: string;
  bool_value?: boolean;
  int_value?: string;
  double_value?: number;
  array_value?: { values?: PbAnyValue[] };
}
interface PbKeyValue {
  key: string;
  value?: PbAnyValue;
}
interface PbSpan {
  trace_id: string;
  span_id: string;
  parent_span_id?: string;
  name: string;
  kind: string;
  start_time_unix_nano: string;
  end_time_unix_nano: string;
  attributes?: PbKeyValue[];
  status?: { message?: string; code?: string };
}
interface PbTraceRequest {
  resource_spans?: { resource?: { attributes?: PbKeyValue[] }; scope_spans?: { scope?: { name: string; version?: string }; spans?: PbSpan[] }[] }[];
}
interface PbNumberPoint {
  attributes?: PbKeyValue[];
  as_double?: number;
  as_int?: string;
}
interface PbHistogramPoint {
  attributes?: PbKeyValue[];
  count: string;
  sum?: number;
  bucket_counts?: string[];
  explicit_bounds?: number[];
}
interface PbMetric {
  name: string;
  unit?: string;
  sum?: { data_points?: PbNumberPoint[]; aggregation_temporality?: string; is_monotonic?: boolean };
  gauge?: { data_points?: PbNumberPoint[] };
  histogram?: { data_points?: PbHistogramPoint[]; aggregation_temporality?: string };
}
interface PbMetricsRequest {
  resource_metrics?: { resource?: { attributes?: PbKeyValue[] }; scope_metrics?: { metrics?: PbMetric[] }[] }[];
}

export type AttrValue = string | number | boolean | AttrValue[] | null;

/** A span as received, ids as lowercase hex and times as ns decimal strings (exact). */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: string;
  startNs: string;
  endNs: string;
  attributes: Record<string, AttrValue>;
  status: { code: string; message: string };
  resource: Record<string, AttrValue>;
  scope: string;
}

export interface ReceivedMetric {
  name: string;
  unit: string;
  temporality: string | null;
  points: { attributes: Record<string, AttrValue>; value: number | null; count: number | null; sum: number | null }[];
}

/** What the receiver does with one request (by its 0-based index among all requests). */
export type Reply = { status: number; headers?: Record<string, string>; body?: Uint8Array } | 'hang';

function value(v: PbAnyValue | undefined): AttrValue {
  if (v === undefined) return null;
  if (v.string_value !== undefined) return v.string_value;
  if (v.bool_value !== undefined) return v.bool_value;
  if (v.int_value !== undefined) return Number(v.int_value);
  if (v.double_value !== undefined) return v.double_value;
  if (v.array_value !== undefined) return (v.array_value.values ?? []).map(value);
  return null;
}

function attrs(kvs: PbKeyValue[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of kvs ?? []) out[kv.key] = value(kv.value);
  return out;
}

function hex(b64: string | undefined): string {
  return Buffer.from(b64 ?? '', 'base64').toString('hex');
}

const TO_OBJECT = { longs: String, enums: String, bytes: String, defaults: false, oneofs: false } as const;

export function decodeTraces(body: Uint8Array): ReceivedSpan[] {
  const req = TraceRequest.toObject(TraceRequest.decode(body), TO_OBJECT) as PbTraceRequest;
  const out: ReceivedSpan[] = [];
  for (const rs of req.resource_spans ?? []) {
    const resource = attrs(rs.resource?.attributes);
    for (const ss of rs.scope_spans ?? []) {
      for (const s of ss.spans ?? []) {
        const parent = hex(s.parent_span_id);
        out.push({
          traceId: hex(s.trace_id),
          spanId: hex(s.span_id),
          parentSpanId: parent === '' ? null : parent,
          name: s.name,
          kind: s.kind ?? 'SPAN_KIND_UNSPECIFIED',
          startNs: s.start_time_unix_nano ?? '0',
          endNs: s.end_time_unix_nano ?? '0',
          attributes: attrs(s.attributes),
          status: { code: s.status?.code ?? 'STATUS_CODE_UNSET', message: s.status?.message ?? '' },
          resource,
          scope: ss.scope?.name ?? '',
        });
      }
    }
  }
  return out;
}

export function decodeMetrics(body: Uint8Array): ReceivedMetric[] {
  const req = MetricsRequest.toObject(MetricsRequest.decode(body), TO_OBJECT) as PbMetricsRequest;
  const out: ReceivedMetric[] = [];
  for (const rm of req.resource_metrics ?? []) {
    for (const sm of rm.scope_metrics ?? []) {
      for (const m of sm.metrics ?? []) {
        const numberPoints = m.sum?.data_points ?? m.gauge?.data_points;
        out.push({
          name: m.name,
          unit: m.unit ?? '',
          temporality: m.sum?.aggregation_temporality ?? m.histogram?.aggregation_temporality ?? null,
          points: numberPoints
            ? numberPoints.map((p) => ({ attributes: attrs(p.attributes), value: p.as_double ?? (p.as_int !== undefined ? Number(p.as_int) : null), count: null, sum: null }))
            : (m.histogram?.data_points ?? []).map((p) => ({ attributes: attrs(p.attributes), value: null, count: Number(p.count), sum: p.sum ?? null })),
        });
      }
    }
  }
  return out;
}

/** An ExportTraceServiceResponse saying `rejected` spans were refused (OTLP partial success). */
export function partialSuccess(rejected: number): Uint8Array {
  return TraceResponse.encode(TraceResponse.fromObject({ partial_success: { rejected_spans: rejected, error_message: 'test rejects some' } })).finish();
}

export interface ReceivedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export class OtlpReceiver {
  readonly requests: ReceivedRequest[] = [];
  private server: Server | null = null;
  private readonly hanging: ServerResponse[] = [];
  /** Called for every request in order; the default accepts everything with 200. */
  reply: (index: number, path: string) => Reply = () => ({ status: 200 });

  get url(): string {
    const a = this.server?.address() as AddressInfo | null;
    if (!a) throw new Error('receiver not started');
    return `http://127.0.0.1:${a.port}`;
  }

  /** Spans of every request that was answered 2xx, in arrival order. */
  spans(): ReceivedSpan[] {
    return this.accepted('/v1/traces').flatMap((r) => decodeTraces(r.body));
  }

  metrics(): ReceivedMetric[] {
    return this.accepted('/v1/metrics').flatMap((r) => decodeMetrics(r.body));
  }

  private readonly acceptedIdx = new Set<number>();

  private accepted(path: string): ReceivedRequest[] {
    return this.requests.filter((r, i) => r.path === path && this.acceptedIdx.has(i));
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const index = this.requests.length;
        const path = req.url ?? '';
        this.requests.push({ path, headers: req.headers, body: Buffer.concat(parts) });
        const r = this.reply(index, path);
        if (r === 'hang') {
          this.hanging.push(res);
          return;
        }
        if (r.status >= 200 && r.status < 300) this.acceptedIdx.add(index);
        res.writeHead(r.status, { 'content-type': 'application/x-protobuf', ...r.headers });
        res.end(r.body ?? Buffer.alloc(0));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
