// The OTLP/HTTP span exporter (protobuf or JSON) that encodes a batch a few items per event-loop turn
// and sends it as one request: the packaged exporters encode a whole batch in one synchronous run.
// Why and how (protobuf messages concatenate): docs/decisions.md, "Chunked span export".
// @see https://protobuf.dev/programming-guides/encoding/#last-one-wins
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { IOtlpExportDelegate } from '@opentelemetry/otlp-exporter-base';
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate,
} from '@opentelemetry/otlp-exporter-base/node-http';
import {
  type ISerializer,
  JsonTraceSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';

/**
 * Items encoded per turn of the event loop: about half a millisecond on a 2-core cloud VM (the
 * benchmark's stall probe, docs/performance.md). 16 held the loop less but cost more per item (the
 * resource is written once per chunk); 64 held it twice as long.
 */
export const ENCODE_CHUNK = 32;

interface Encoded {
  readonly body: Uint8Array;
  readonly items: number;
}

/** An OTLP/HTTP encoding: the library's serializer, and how its encoded chunks make one body. */
interface Encoding<Item> {
  readonly contentType: string;
  readonly serializer: ISerializer<Item[], unknown>;
  readonly join: (parts: Uint8Array[]) => Uint8Array;
}

const JSON_HEAD = Buffer.from('{"resourceSpans":[');
const JSON_TAIL = Buffer.from(']}');
const COMMA = Buffer.from(',');

/** `{"resourceSpans":[a]}` + `{"resourceSpans":[b]}` -> `{"resourceSpans":[a,b]}`. */
export function joinJsonChunks(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const pieces: Uint8Array[] = [JSON_HEAD];
  for (const [i, p] of parts.entries()) {
    const b = Buffer.from(p.buffer, p.byteOffset, p.byteLength);
    const inner = b.subarray(JSON_HEAD.length, b.length - JSON_TAIL.length);
    if (
      !b.subarray(0, JSON_HEAD.length).equals(JSON_HEAD) ||
      !b.subarray(-JSON_TAIL.length).equals(JSON_TAIL)
    )
      throw new Error(`OTLP JSON chunk is not one resourceSpans list: ${b.subarray(0, 40).toString()}`);
    if (i > 0) pieces.push(COMMA);
    pieces.push(inner);
  }
  pieces.push(JSON_TAIL);
  return Buffer.concat(pieces);
}

export const TRACE_ENCODINGS: Record<'http/protobuf' | 'http/json', Encoding<ReadableSpan>> = {
  'http/protobuf': {
    contentType: 'application/x-protobuf',
    serializer: ProtobufTraceSerializer,
    join: (parts) => (parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts)),
  },
  'http/json': { contentType: 'application/json', serializer: JsonTraceSerializer, join: joinJsonChunks },
};

class ChunkedExporter<Item> {
  readonly #encoding: Encoding<Item>;
  readonly #delegate: IOtlpExportDelegate<Encoded>;
  readonly #pending = new Set<Promise<void>>();

  constructor(
    signal: 'TRACES' | 'LOGS',
    path: string,
    encoding: Encoding<Item>,
    componentType: string,
    itemName: 'span' | 'log',
  ) {
    this.#encoding = encoding;
    this.#delegate = createOtlpHttpExportDelegate<Encoded, unknown>(
      convertLegacyHttpOptions({}, signal, path, { 'Content-Type': encoding.contentType }),
      {
        serializeRequest: (encoded) => encoded.body,
        deserializeResponse: (data) => encoding.serializer.deserializeResponse(data),
      },
      componentType,
      { name: itemName, countItems: (encoded) => encoded.items },
      undefined,
    );
  }

  export(items: Item[], done: (result: ExportResult) => void): void {
    let settled = false;
    const once = (result: ExportResult) => {
      if (settled) return;
      settled = true;
      done(result);
    };
    // A failure to encode or to hand the body over fails this batch, as it would in the packaged
    // exporter, and is reported once; it must never surface as an unhandled rejection in the service.
    const work: Promise<void> = this.#encode(items)
      .then((body) => this.#delegate.export({ body, items: items.length }, once))
      .catch((error: unknown) =>
        once({
          code: ExportResultCode.FAILED,
          error: error instanceof Error ? error : new Error(String(error)),
        }),
      )
      .finally(() => this.#pending.delete(work));
    this.#pending.add(work);
  }

  async #encode(items: Item[]): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < items.length; i += ENCODE_CHUNK) {
      // The first chunk is encoded at once, like the packaged exporter; later ones after pending I/O.
      if (i > 0) await nextTurn();
      const part = this.#encoding.serializer.serializeRequest(items.slice(i, i + ENCODE_CHUNK));
      if (part === undefined)
        throw new Error(`OTLP serializer returned nothing for items ${i}-${i + ENCODE_CHUNK}`);
      parts.push(part);
    }
    return this.#encoding.join(parts);
  }

  async forceFlush(): Promise<void> {
    await Promise.all(this.#pending);
    await this.#delegate.forceFlush();
  }

  async shutdown(): Promise<void> {
    await this.forceFlush();
    await this.#delegate.shutdown();
  }
}

export class ChunkedOtlpTraceExporter extends ChunkedExporter<ReadableSpan> implements SpanExporter {
  constructor(protocol: keyof typeof TRACE_ENCODINGS = 'http/protobuf') {
    super('TRACES', 'v1/traces', TRACE_ENCODINGS[protocol], 'otlp_http_span_exporter', 'span');
  }
}
