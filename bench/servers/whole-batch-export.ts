// Preloaded into one comparison row only (`template-whole-batch`): the template's chunked OTLP span
// exporter hands each batch to the packaged exporter instead, which encodes it in one synchronous
// run (log records are encoded in the log worker thread either way). Everything else is the full production configuration, so the row shows what chunked encoding
// changes in the fixed-rate tail and in CPU per request. Patched on the prototypes before the SDK
// builds its exporter; each template exporter gets one packaged exporter, built from the same
// OTEL_EXPORTER_OTLP_* variables.
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ChunkedOtlpTraceExporter } from '../../service/src/telemetry/otlp-export.ts';

interface Exporter {
  export(items: unknown[], done: (result: unknown) => void): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

function delegateTo(target: { prototype: object }, make: () => Exporter): void {
  const packaged = new WeakMap<object, Exporter>();
  const of = (self: object): Exporter => {
    const known = packaged.get(self);
    if (known) return known;
    const made = make();
    packaged.set(self, made);
    return made;
  };
  Object.assign(target.prototype, {
    export(this: object, items: unknown[], done: (result: unknown) => void) {
      of(this).export(items, done);
    },
    forceFlush(this: object) {
      return of(this).forceFlush();
    },
    shutdown(this: object) {
      return of(this).shutdown();
    },
  });
}

delegateTo(ChunkedOtlpTraceExporter, () => new OTLPTraceExporter());
