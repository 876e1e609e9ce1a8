#!/usr/bin/env bash
# Installs what building faultline needs beyond a Rust toolchain.
set -euo pipefail
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi
