#!/usr/bin/env bash
# Builds the C scorer into a component: c-scorer.wasm (or the path given).
#
# Needs Debian's clang-14, lld-14 and wasi-libc (scripts/setup.sh installs
# them). tools/c-component does what `wit-bindgen c` + clang +
# `wasm-tools component new` would: generates the C bindings of the
# scorer-plugin world, compiles scorer.c with them for wasm32-wasi, and encodes
# the result as a component.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$here/../../.."
out="$(realpath -m "${1:-$here/c-scorer.wasm}")"
cargo build --quiet --release --locked --manifest-path "$repo/tools/c-component/Cargo.toml" \
    --target-dir "$repo/target/tools"
"$repo/target/tools/release/faultline-c-component" \
    --wit "$repo/wit" --world scorer-plugin --out "$out" "$here/scorer.c"
