// Telemetry bootstrap, loaded by the start command (`node --import`) before any app module.
// It imports nothing of the app: the app finds what it set up through the telemetry handle.

// `.env` when it exists (`npm start` and the image alike); variables already set win over the file.
// Read here rather than by node's --env-file-if-exists, which on Node 26 writes a line to stderr on
// every start without the file (a pod never has one).
try {
  process.loadEnvFile('.env');
} catch (err) {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
    process.stderr.write(`Refusing to start: .env cannot be read: ${String(err)}\n`);
    process.exit(1);
  }
}

// The SDK set-up registers the module hooks (sdk.ts) before any app module loads; imported
// dynamically so that a failure to load it is caught here.
try {
  const { installTelemetry } = await import('./telemetry/sdk.ts');
  await installTelemetry();
} catch (err) {
  // An instrumentation named but not installed is a configuration mistake: refuse, as for bad settings.
  if (err instanceof Error && err.name === 'InstrumentationSetupError') {
    process.stderr.write(`Refusing to start: ${err.message}\n`);
    process.exit(1);
  }
  // Telemetry must never keep the service down: it starts without, and the start-up self-check
  // reports the missing instrumentation as an error line and a metric.
  process.stderr.write(`telemetry set-up failed, continuing without it: ${String(err)}\n`);
}
