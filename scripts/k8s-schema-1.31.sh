#!/usr/bin/env bash
# Checks a Kubernetes YAML stream on stdin against the API types of Kubernetes 1.31, the oldest version
# the base in deploy/kubernetes supports (tools/k8s-schema-1.31: k8s.io/api v0.31, unknown fields
# refused). Builds the checker from the Go module proxy once per source and Go version, cached under
# ${XDG_CACHE_HOME:-~/.cache}/otel-service-template. `--build` only builds it and prints its path.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/tools/k8s-schema-1.31"

export PATH="/usr/local/go/bin:$PATH"
if ! command -v go >/dev/null 2>&1; then
  echo "k8s-schema-1.31: the Go toolchain is missing (expected at /usr/local/go/bin/go or on PATH)" >&2
  exit 1
fi
export GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOTOOLCHAIN=local

cache="${XDG_CACHE_HOME:-$HOME/.cache}/otel-service-template"
mkdir -p "$cache"
key="$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go | sha256sum | cut -c1-16)-$(go env GOVERSION)"
bin="$cache/k8s-schema-1.31-$key"
if [ ! -x "$bin" ]; then
  # Two test files (or a test and CI) may ask at once: one builds, the other waits and reuses.
  exec 9>"$cache/.k8s-schema.lock"
  flock 9
  if [ ! -x "$bin" ]; then
    echo "k8s-schema-1.31: building the checker (a cold build takes a minute or two)" >&2
    (cd "$src" && go build -trimpath -o "$bin.tmp" .) >&2
    mv "$bin.tmp" "$bin"
  fi
fi
if [ "${1:-}" = --build ]; then
  echo "$bin"
  exit 0
fi
exec "$bin"
