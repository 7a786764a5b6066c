// Preloaded into one comparison row only (`template-no-express-instrumentation`): the OTel Express
// instrumentation is built as in production but given no module to patch, so no Express layer is
// wrapped. The row shows what those per-layer wrappers cost the full template. Its spans lack
// http.route and its start-up self-check reports express as unpatched: a measurement, never a
// configuration (issue 3 requires the instrumentation).
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';

// `init` is protected: it lists the module definitions the base class hooks in its constructor. If
// a release renames it, this row would silently measure the full template again: stop instead.
if (!Object.hasOwn(ExpressInstrumentation.prototype, 'init'))
  throw new Error(
    'bench: ExpressInstrumentation.prototype.init not found; the no-instrumentation row cannot be built',
  );
Object.assign(ExpressInstrumentation.prototype, { init: () => [] });
