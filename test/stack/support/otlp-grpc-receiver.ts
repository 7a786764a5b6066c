// A stand-in for Tempo's OTLP/gRPC receiver: the collector exports traces to it exactly as it would to
// Tempo (TraceService/Export), and it keeps the spans, decoded by the project's OTLP receiver code.
// Tempo itself is AGPL and is never built or fetched here. @grpc/grpc-js serves the gRPC protocol
// (framing, gzip, trailers), so only the message decoding is ours.
import * as grpc from '@grpc/grpc-js';
import { decodeTraceRequest, type ReceivedSpan } from '../../support/otlp-receiver.ts';

const TRACE_EXPORT = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

export interface OtlpGrpcReceiver {
  /** host:port, as the collector's otlp exporter takes it. */
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  /** Export calls seen, with their metadata (e.g. grpc-encoding). */
  readonly calls: { metadata: Record<string, unknown>; spans: number }[];
  waitForSpan(match: (s: ReceivedSpan) => boolean, timeoutMs?: number): Promise<ReceivedSpan>;
  close(): Promise<void>;
}

export async function startOtlpGrpcReceiver(): Promise<OtlpGrpcReceiver> {
  const spans: ReceivedSpan[] = [];
  const calls: OtlpGrpcReceiver['calls'] = [];
  const server = new grpc.Server();
  // The service is defined by hand, with raw bytes in and out: the protobuf decoding is shared with
  // the OTLP/HTTP receiver rather than loaded a second time from .proto files.
  const definition: grpc.ServiceDefinition = {
    Export: {
      path: TRACE_EXPORT,
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      // An empty ExportTraceServiceResponse: no partial_success, everything accepted.
      responseSerialize: () => Buffer.alloc(0),
      responseDeserialize: (b: Buffer) => b,
    },
  };
  server.addService(definition, {
    Export: (call: grpc.ServerUnaryCall<Buffer, null>, callback: grpc.sendUnaryData<null>) => {
      try {
        const got = decodeTraceRequest(call.request);
        spans.push(...got);
        calls.push({ metadata: call.metadata.getMap(), spans: got.length });
        callback(null, null);
      } catch (err) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: String(err) });
      }
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    endpoint: `127.0.0.1:${port}`,
    spans,
    calls,
    async waitForSpan(match, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = spans.find(match);
        if (found) return found;
        if (Date.now() > deadline)
          throw new Error(
            `no matching span at the Tempo stand-in within ${timeoutMs} ms (${spans.length} seen)`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}
