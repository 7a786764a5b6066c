// A local OTLP/HTTP receiver for tests: accepts traces and logs as http/protobuf or http/json and
// keeps them as plain objects (hex ids, attributes as a record).
//
// Protobuf is decoded by protobufjs from the subset of the opentelemetry-proto messages below (field
// numbers as in opentelemetry-proto v1; unknown fields are skipped). The OTel JS packages ship only a
// hand-written encoder, no decoder and no .proto files, so the schema is spelled out here.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

const OTLP_PROTO = `
syntax = "proto3";
package otlp;
message AnyValue {
  oneof value {
    string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
    ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message InstrumentationScope { string name = 1; string version = 2; }
message Status { string message = 2; int32 code = 3; }
message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4;
  string name = 5; int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9; repeated Event events = 11; Status status = 15; fixed32 flags = 16;
}
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message LogRecord {
  fixed64 time_unix_nano = 1; int32 severity_number = 2; string severity_text = 3; AnyValue body = 5;
  repeated KeyValue attributes = 6; fixed32 flags = 8; bytes trace_id = 9; bytes span_id = 10;
}
message ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; }
message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; }
message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
`;
const root = protobuf.parse(OTLP_PROTO, { keepCase: false }).root;
const TraceRequest = root.lookupType('otlp.ExportTraceServiceRequest');
const LogsRequest = root.lookupType('otlp.ExportLogsServiceRequest');

/** Spans of a protobuf ExportTraceServiceRequest (as the OTLP/gRPC stand-in for Tempo receives them). */
export function decodeTraceRequest(body: Uint8Array): ReceivedSpan[] {
  return spansOf(TraceRequest.toObject(TraceRequest.decode(body), { longs: String, bytes: Buffer }) as Any);
}

export type Attributes = Record<string, unknown>;

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Attributes;
  readonly events: readonly { name: string; attributes: Attributes }[];
  readonly status: { code: number; message: string };
  readonly scope: string;
  readonly resource: Attributes;
}

export interface ReceivedLog {
  readonly traceId: string;
  readonly spanId: string;
  /** W3C trace flags (1: sampled), 0 when absent. */
  readonly flags: number;
  /** Nanoseconds since the epoch, as a decimal string (beyond a double's precision). */
  readonly timeUnixNano: string;
  readonly severityNumber: number;
  readonly severityText: string;
  readonly body: unknown;
  readonly attributes: Attributes;
  readonly resource: Attributes;
}

export interface OtlpRequestInfo {
  readonly path: string;
  readonly contentType: string;
  readonly headers: IncomingMessage['headers'];
  /** Spans or log records in the request (0 until it is decoded, or when it could not be). */
  items: number;
  /** ResourceSpans or ResourceLogs entries in the request: one per encoded chunk (0 until decoded). */
  groups: number;
}

// Both encodings reduced to one shape. JSON: camelCase, hex ids, enums as numbers, int64 as string.
type Any = Record<string, unknown>;
const hex = (v: unknown): string => {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  return Buffer.from(v as Uint8Array).toString('hex');
};
function value(v: Any | undefined): unknown {
  if (!v) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('arrayValue' in v) return ((v.arrayValue as Any).values as Any[] | undefined)?.map(value) ?? [];
  if ('kvlistValue' in v) return attributes((v.kvlistValue as Any).values as Any[]);
  if ('bytesValue' in v) return hex(v.bytesValue);
  return undefined;
}
function attributes(list: Any[] | undefined): Attributes {
  const out: Attributes = {};
  for (const kv of list ?? []) out[kv.key as string] = value(kv.value as Any);
  return out;
}

function spansOf(req: Any): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of (req.resourceSpans as Any[] | undefined) ?? []) {
    const resource = attributes((rs.resource as Any | undefined)?.attributes as Any[]);
    for (const ss of (rs.scopeSpans as Any[] | undefined) ?? []) {
      for (const s of (ss.spans as Any[] | undefined) ?? []) {
        const status = (s.status as Any | undefined) ?? {};
        out.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: s.name as string,
          kind: Number(s.kind ?? 0),
          attributes: attributes(s.attributes as Any[]),
          events: ((s.events as Any[] | undefined) ?? []).map((e) => ({
            name: e.name as string,
            attributes: attributes(e.attributes as Any[]),
          })),
          status: { code: Number(status.code ?? 0), message: (status.message as string) ?? '' },
          scope: ((ss.scope as Any | undefined)?.name as string) ?? '',
          resource,
        });
      }
    }
  }
  return out;
}

function logsOf(req: Any): ReceivedLog[] {
  const out: ReceivedLog[] = [];
  for (const rl of (req.resourceLogs as Any[] | undefined) ?? []) {
    const resource = attributes((rl.resource as Any | undefined)?.attributes as Any[]);
    for (const sl of (rl.scopeLogs as Any[] | undefined) ?? []) {
      for (const l of (sl.logRecords as Any[] | undefined) ?? []) {
        out.push({
          traceId: hex(l.traceId),
          spanId: hex(l.spanId),
          flags: Number(l.flags ?? 0),
          timeUnixNano: String(l.timeUnixNano ?? '0'),
          severityNumber: Number(l.severityNumber ?? 0),
          severityText: (l.severityText as string) ?? '',
          body: value(l.body as Any),
          attributes: attributes(l.attributes as Any[]),
          resource,
        });
      }
    }
  }
  return out;
}

export interface OtlpReceiver {
  readonly url: string;
  readonly spans: ReceivedSpan[];
  readonly logs: ReceivedLog[];
  readonly requests: OtlpRequestInfo[];
  /** Raw request bodies, to search for strings that must never leave the process. */
  readonly rawBodies: Buffer[];
  /** Resolves with the first span that matches, polling as exports arrive. */
  waitForSpan(match: (s: ReceivedSpan) => boolean, timeoutMs?: number): Promise<ReceivedSpan>;
  waitForLog(match: (l: ReceivedLog) => boolean, timeoutMs?: number): Promise<ReceivedLog>;
  /** Resolves with the first export request that matches once decoded (its items and groups counted). */
  waitForRequest(match: (r: OtlpRequestInfo) => boolean, timeoutMs?: number): Promise<OtlpRequestInfo>;
  close(): Promise<void>;
}

async function waitFor<T>(list: T[], match: (x: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = list.find(match);
    if (found) return found;
    if (Date.now() > deadline)
      throw new Error(`no matching ${what} within ${timeoutMs} ms (${list.length} seen)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * `pathPrefix` serves the signals under another base path, e.g. '/otlp' for Loki's `/otlp/v1/logs`.
 * Bodies sent with `content-encoding: gzip` (the collector's exporters' default) are inflated first.
 */
export async function startOtlpReceiver(options: { pathPrefix?: string } = {}): Promise<OtlpReceiver> {
  const prefix = options.pathPrefix ?? '';
  const spans: ReceivedSpan[] = [];
  const logs: ReceivedLog[] = [];
  const requests: OtlpRequestInfo[] = [];
  const rawBodies: Buffer[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    let body: Buffer;
    try {
      body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err));
      return;
    }
    const contentType = req.headers['content-type'] ?? '';
    const path = req.url ?? '';
    const info: OtlpRequestInfo = { path, contentType, headers: req.headers, items: 0, groups: 0 };
    requests.push(info);
    rawBodies.push(body);
    try {
      const json = contentType.includes('json');
      const decode = (type: protobuf.Type): Any =>
        json
          ? (JSON.parse(body.toString('utf8')) as Any)
          : (type.toObject(type.decode(body), { longs: String, bytes: Buffer, defaults: false }) as Any);
      if (path === `${prefix}/v1/traces`) {
        const decoded = decode(TraceRequest);
        const got = spansOf(decoded);
        spans.push(...got);
        info.items = got.length;
        info.groups = (decoded.resourceSpans as Any[] | undefined)?.length ?? 0;
      } else if (path === `${prefix}/v1/logs`) {
        const decoded = decode(LogsRequest);
        const got = logsOf(decoded);
        logs.push(...got);
        info.items = got.length;
        info.groups = (decoded.resourceLogs as Any[] | undefined)?.length ?? 0;
      } else {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : Buffer.alloc(0));
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err));
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    logs,
    requests,
    rawBodies,
    waitForSpan: (match, timeoutMs = 15_000) => waitFor(spans, match, timeoutMs, 'span'),
    waitForLog: (match, timeoutMs = 15_000) => waitFor(logs, match, timeoutMs, 'log record'),
    waitForRequest: (match, timeoutMs = 15_000) => waitFor(requests, match, timeoutMs, 'export request'),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
