// The service's own package.json, imported at run time: the version is the same however the process
// starts (npm sets npm_package_version, but the image and a Kubernetes pod run `node` directly).
// Imports nothing else, so the preloaded telemetry set-up can use it too.
import pkg from '../../package.json' with { type: 'json' };

/** package.json's `version`; SERVICE_VERSION overrides it (config.ts, telemetry/sdk.ts). */
export const PACKAGE_VERSION: string = pkg.version;
