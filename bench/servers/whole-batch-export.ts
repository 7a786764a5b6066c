// Preloaded into the `template-whole-batch` row only: the template's chunked span exporter hands each
// batch to the packaged exporter (built from the same OTEL_EXPORTER_OTLP_* variables), which encodes it
// in one synchronous run; patched on the prototype before the SDK builds its exporter.
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ChunkedOtlpTraceExporter } from '../../service/src/telemetry/otlp-export.ts';

const packaged = new WeakMap<object, OTLPTraceExporter>();
const of = (self: object): OTLPTraceExporter => {
  const known = packaged.get(self) ?? new OTLPTraceExporter();
  packaged.set(self, known);
  return known;
};

Object.assign(ChunkedOtlpTraceExporter.prototype, {
  export(this: object, ...args: Parameters<OTLPTraceExporter['export']>) {
    of(this).export(...args);
  },
  forceFlush(this: object) {
    return of(this).forceFlush();
  },
  shutdown(this: object) {
    return of(this).shutdown();
  },
});
