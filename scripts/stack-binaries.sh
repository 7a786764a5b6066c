#!/usr/bin/env bash
# Builds the stack's own binaries from the Go module proxy, once per version, and prints where they are
# as one JSON line on stdout: {"otelcol": PATH, "prometheus": PATH, "promtool": PATH, "alertmanager": PATH,
# "amtool": PATH}. Progress goes to stderr. No Docker engine runs on our machines, so CI and the tests run
# these binaries instead of the compose images (same releases: test/stack/collector.test.ts and
# alertmanager.test.ts check that).
#
# - otelcol: the distribution described by observability/collector-builder.yaml, built by the
#   OpenTelemetry Collector Builder. Cached under a key of the manifest's contents and the Go version,
#   so editing the manifest (a version bump, a component) rebuilds it.
# - prometheus, promtool: Prometheus 3 from its module (v3.x.y is published as v0.3xx.y), built inside
#   the downloaded module because its go.mod carries replace directives that `go install` refuses.
# - alertmanager, amtool: Alertmanager from its module, built from a writable copy of it: the web UI it
#   embeds (ui/app/dist) is built by npm in its release process and is not in the module zip, so a
#   one-page placeholder takes its place (the API, which Prometheus and the tests use, is complete).
#
# Cache: ${XDG_CACHE_HOME:-~/.cache}/otel-service-template/ (survives between runs on one machine).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The pinned releases. Bump them together with the compose image tags (docker-compose.yml).
PROMETHEUS_VERSION=3.16.0  # module github.com/prometheus/prometheus v0.316.0
ALERTMANAGER_VERSION=0.35.0  # module github.com/prometheus/alertmanager v0.35.0
BUILDER_VERSION=v0.160.0   # go.opentelemetry.io/collector/cmd/builder; the manifest pins the components
MANIFEST="$root/observability/collector-builder.yaml"

export PATH="/usr/local/go/bin:$PATH"
if ! command -v go >/dev/null 2>&1; then
  echo "stack-binaries: the Go toolchain is missing (expected at /usr/local/go/bin/go or on PATH);" \
    "it builds the OpenTelemetry Collector and Prometheus from the Go module proxy" >&2
  exit 1
fi
log() { echo "stack-binaries: $*" >&2; }

cache="${XDG_CACHE_HOME:-$HOME/.cache}/otel-service-template"
mkdir -p "$cache"
# Two test files (or a test and CI) may ask at once: one builds, the other waits and reuses.
exec 9>"$cache/.lock"
flock 9

go_version="$(go env GOVERSION)"
# A module directory under GOMODCACHE is read-only and carries a go.work naming folders the module
# zip leaves out; builds there must ignore it. -buildvcs=false: a cache folder is no git checkout.
export GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0
export GOTOOLCHAIN=local

# Downloads MODULE@VERSION through the module proxy and prints its (read-only) source directory.
module_dir() {
  local info dir
  info="$(go mod download -json "$1")" || {
    log "the Go module proxy did not serve $1:"
    echo "$info" >&2
    exit 1
  }
  dir="$(echo "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')"
  [ -d "$dir" ] || { log "go mod download gave no source directory: $info"; exit 1; }
  echo "$dir"
}

# build_prometheus_cmds SRC OUT VERSION MODULE_VERSION CMD...: builds ./cmd/CMD from inside the module
# at SRC (its go.mod's replace directives apply only there) into OUT, stamped with the release VERSION.
build_prometheus_cmds() {
  local src="$1" out="$2" version="$3" module_version="$4"
  shift 4
  local ldflags="-s -w -X github.com/prometheus/common/version.Version=$version"
  ldflags+=" -X github.com/prometheus/common/version.Branch=module-$module_version"
  ldflags+=" -X github.com/prometheus/common/version.BuildUser=otel-service-template"
  local cmd pkgs=()
  for cmd in "$@"; do pkgs+=("./cmd/$cmd"); done
  log "go build ${pkgs[*]} of $module_version (a cold build takes minutes)"
  (cd "$src" && go build -trimpath -ldflags "$ldflags" -o "$out/" "${pkgs[@]}") >&2
}

# --- Prometheus and promtool ---
prom_module_version="v0.$(echo "$PROMETHEUS_VERSION" | awk -F. '{ printf "%d%02d.%d", $1, $2, $3 }')"
prom_dir="$cache/prometheus-$PROMETHEUS_VERSION-$go_version"
if [ -x "$prom_dir/prometheus" ] && [ -x "$prom_dir/promtool" ]; then
  log "prometheus $PROMETHEUS_VERSION: cached in $prom_dir"
else
  start=$SECONDS
  log "prometheus $PROMETHEUS_VERSION: downloading github.com/prometheus/prometheus@$prom_module_version"
  src="$(module_dir "github.com/prometheus/prometheus@$prom_module_version")"
  tmp="$prom_dir.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  build_prometheus_cmds "$src" "$tmp" "$PROMETHEUS_VERSION" "$prom_module_version" prometheus promtool
  rm -rf "$prom_dir" && mv "$tmp" "$prom_dir"
  log "prometheus $PROMETHEUS_VERSION: built in $((SECONDS - start)) s"
fi

# --- Alertmanager and amtool ---
am_dir="$cache/alertmanager-$ALERTMANAGER_VERSION-$go_version"
if [ -x "$am_dir/alertmanager" ] && [ -x "$am_dir/amtool" ]; then
  log "alertmanager $ALERTMANAGER_VERSION: cached in $am_dir"
else
  start=$SECONDS
  log "alertmanager $ALERTMANAGER_VERSION: downloading github.com/prometheus/alertmanager@v$ALERTMANAGER_VERSION"
  src="$(module_dir "github.com/prometheus/alertmanager@v$ALERTMANAGER_VERSION")"
  tmp="$am_dir.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  # GOMODCACHE is read-only and `go build -overlay` refuses to replace files under it: build a copy.
  cp -R "$src" "$tmp/src" && chmod -R u+w "$tmp/src"
  for ui in elm mantine; do
    mkdir -p "$tmp/src/ui/app/dist/$ui"
    echo '<!doctype html><title>Alertmanager</title><p>Built without the web UI: use the API or amtool.</p>' \
      >"$tmp/src/ui/app/dist/$ui/index.html"
  done
  build_prometheus_cmds "$tmp/src" "$tmp" "$ALERTMANAGER_VERSION" "v$ALERTMANAGER_VERSION" alertmanager amtool
  rm -rf "$tmp/src" "$am_dir" && mv "$tmp" "$am_dir"
  log "alertmanager $ALERTMANAGER_VERSION: built in $((SECONDS - start)) s"
fi

# --- OpenTelemetry Collector ---
manifest_hash="$(cat "$MANIFEST" <(echo "$BUILDER_VERSION $go_version") | sha256sum | cut -c1-16)"
col_version="$(sed -n 's/^[[:space:]]*version:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$MANIFEST" | head -n 1)"
col_dir="$cache/otelcol-$col_version-$manifest_hash"
if [ -x "$col_dir/otelcol" ]; then
  log "otelcol $col_version: cached in $col_dir"
else
  start=$SECONDS
  tools="$cache/tools/builder-$BUILDER_VERSION-$go_version"
  if [ ! -x "$tools/builder" ]; then
    log "installing the OpenTelemetry Collector Builder $BUILDER_VERSION"
    mkdir -p "$tools"
    GOBIN="$tools" go install "go.opentelemetry.io/collector/cmd/builder@$BUILDER_VERSION" >&2
  fi
  tmp="$col_dir.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  # The committed manifest leaves output_path to us: the build goes into the cache folder.
  sed "s|^dist:[[:space:]]*$|dist:\n  output_path: $tmp|" "$MANIFEST" >"$tmp/manifest.yaml"
  log "otelcol $col_version: building with the Collector Builder (a cold build takes minutes)"
  # Strict versioning: the builder fails if resolving dependencies moved a component off the manifest's release.
  "$tools/builder" --config="$tmp/manifest.yaml" --skip-strict-versioning=false >&2
  rm -rf "$col_dir" && mv "$tmp" "$col_dir"
  log "otelcol $col_version: built in $((SECONDS - start)) s"
fi

json_string() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
printf '{"otelcol":%s,"prometheus":%s,"promtool":%s,"alertmanager":%s,"amtool":%s}\n' \
  "$(json_string "$col_dir/otelcol")" "$(json_string "$prom_dir/prometheus")" "$(json_string "$prom_dir/promtool")" \
  "$(json_string "$am_dir/alertmanager")" "$(json_string "$am_dir/amtool")"
