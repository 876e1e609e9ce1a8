#!/usr/bin/env bash
# Builds the plugin into a component: __NAME__.wasm (needs `rustup target add wasm32-wasip2`).
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --target wasm32-wasip2
target_dir="${CARGO_TARGET_DIR:-target}"
cp "$target_dir/wasm32-wasip2/release/__CRATE__.wasm" "${1:-__NAME__.wasm}"
