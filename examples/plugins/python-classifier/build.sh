#!/usr/bin/env bash
# Builds the Python classifier into a component (needs componentize-py 0.25.1,
# which ../../../scripts/setup.sh installs).
set -euo pipefail
cd "$(dirname "$0")"
componentize-py -d ../../../wit -w classifier-plugin componentize app -o "${1:-python-classifier.wasm}"
