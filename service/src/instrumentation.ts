// Telemetry bootstrap, loaded by the start command (`node --import`) before any app module.
// OpenTelemetry and Sentry set-up land here with the telemetry issue; it must import nothing of the app.
export {};
