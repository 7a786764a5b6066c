// Types for the one module of pino-opentelemetry-transport the log worker imports by path: the
// package ships them (types/) but maps only its entry point.
declare module 'pino-opentelemetry-transport/lib/otlp-logger-shim.js' {
  export { getOtlpLogger } from 'pino-opentelemetry-transport/types/otlp-logger-shim.js';
}
