#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: format + lint, type check, then every test.
# Run through scripts/node.sh (npm test does that), so the pinned Node and the dependencies are in place.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "== lint and format (biome)"
npx biome ci .

echo "== type check (tsc)"
npx tsc --noEmit -p tsconfig.json

echo "== tests (node:test)"
# A component's own tests live in its folder (service/src/<name>/*.test.ts).
# Test files start real processes (Redis, Prometheus, the service); two at a time fits a 2-core machine.
node --test --test-concurrency=2 --test-timeout=300000 \
  'service/test/**/*.test.ts' 'service/src/**/*.test.ts' 'test/**/*.test.ts' "$@"
