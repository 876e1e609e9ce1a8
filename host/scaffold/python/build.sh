#!/usr/bin/env bash
# Builds the plugin into a component: __NAME__.wasm (needs `pip install componentize-py==0.25.1`).
set -euo pipefail
cd "$(dirname "$0")"
componentize-py -d wit -w __WORLD__ componentize app -o "${1:-__NAME__.wasm}"
