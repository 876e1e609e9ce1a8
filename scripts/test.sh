#!/usr/bin/env bash
# Sets up and runs the whole test suite: unit tests of the SDK and the
# first-party plugins (native), the host's unit and golden tests, and the
# end-to-end tests that drive the built binary with real plugin components.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --release --locked --workspace --all-targets
cargo test --release --locked --workspace
