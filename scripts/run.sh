#!/usr/bin/env bash
# Sets up, builds, and runs the sample events through the built-in default
# chain (enrich -> redact -> classify -> score), printing one result per event.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --release --locked
echo "== faultline check --config examples/faultline.toml" >&2
./target/release/faultline check --config examples/faultline.toml >&2
echo "== faultline process --input examples/events.ndjson (built-in default chain)" >&2
./target/release/faultline process --input examples/events.ndjson "$@"
