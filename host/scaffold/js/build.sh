#!/usr/bin/env bash
# Builds the plugin into a component: __NAME__.wasm (installs componentize-js with npm on first use).
set -euo pipefail
cd "$(dirname "$0")"
[ -x node_modules/.bin/componentize-js ] || npm install --no-audit --no-fund
node_modules/.bin/componentize-js plugin.js --wit wit --world-name __WORLD__ \
  --disable http fetch-event -o "${1:-__NAME__.wasm}"
