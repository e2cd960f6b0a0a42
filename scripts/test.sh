#!/usr/bin/env bash
# Runs every test: formatting and lints, native tests (model, I/O, trainer), the wasm build,
# the TypeScript type-check, browser tests on WebGPU and the CPU fallback in headless Chromium,
# and the end-to-end test of the served page.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
step() { echo; echo "=== $* ($(date +%T))"; }

step setup
scripts/setup.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --release --workspace --all-targets -- -D warnings
cargo clippy --release --target wasm32-unknown-unknown --all-targets -- -D warnings

step "native tests"
cargo test --release --workspace

step "wasm package and TypeScript"
scripts/build-web.sh
(cd www && npx tsc -p tsconfig.json --noEmit && npx tsc -p tests/tsconfig.json --noEmit)

step "browser tests (wasm-pack test, headless Chromium, WebGPU and flex)"
export WASM_BINDGEN_TEST_TIMEOUT=600
wasm-pack test --release --headless --chrome --mode no-install .

step "end-to-end test of the served page (Playwright)"
node www/tests/e2e.mjs

step "whole scan in the page: 512 x 512 x 600 int16 on the CPU fallback and WebGPU, memory (Playwright)"
node www/tests/whole-scan.mjs

step "all tests passed"
