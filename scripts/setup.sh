#!/usr/bin/env bash
# Installs what building faultline and its example plugins needs beyond a Rust
# toolchain: the wasm32-wasip2 target, componentize-py (Python plugins),
# componentize-js (JavaScript plugins) at pinned versions, and Debian's clang,
# lld, wasi-libc and compiler-rt's wasm32 builtins (C plugins).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi
COMPONENTIZE_PY=0.25.1
if [ "$(componentize-py --version 2>/dev/null)" != "componentize-py $COMPONENTIZE_PY" ]; then
    python3 -m pip install --quiet --disable-pip-version-check "componentize-py==$COMPONENTIZE_PY"
fi
# The end-to-end tests point the real Python Sentry SDK at `faultline serve`.
SENTRY_SDK=2.75.0
if ! python3 -c "import sentry_sdk, sys; sys.exit(sentry_sdk.VERSION != '$SENTRY_SDK')" 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check "sentry-sdk==$SENTRY_SDK"
fi
if [ ! -x examples/plugins/js-scorer/node_modules/.bin/componentize-js ]; then
    (cd examples/plugins/js-scorer && npm ci --no-audit --no-fund --loglevel=error)
fi
if ! command -v clang-14 >/dev/null || ! command -v wasm-ld-14 >/dev/null \
    || [ ! -f /usr/lib/wasm32-wasi/libc.a ] \
    || [ ! -f /usr/lib/llvm-14/lib/clang/14.0.6/lib/wasi/libclang_rt.builtins-wasm32.a ]; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get install -y -q --no-install-recommends clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32 >/dev/null \
        || { $SUDO apt-get update -q >/dev/null \
             && $SUDO apt-get install -y -q --no-install-recommends clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32 >/dev/null; }
fi
