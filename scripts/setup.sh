#!/usr/bin/env bash
# Installs what the build and the tests need, skipping what is already there (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "setup: $*"; }

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  log "installing Debian's chromium and chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q chromium chromium-driver
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-pack --version 2>/dev/null || true)" != "wasm-pack 0.15.1" ]; then
  log "installing wasm-pack 0.15.1 (a few minutes)"
  cargo install wasm-pack --version 0.15.1
fi

# Must equal the wasm-bindgen version pinned in Cargo.toml, or wasm-pack tries to download one.
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen 0.2.130" ]; then
  log "installing wasm-bindgen-cli 0.2.130 (several minutes)"
  cargo install wasm-bindgen-cli --version 0.2.130
fi

if [ ! -f www/node_modules/.package-lock.json ] || ! cmp -s www/package-lock.json www/node_modules/.lock-copy 2>/dev/null; then
  log "installing the front end's npm packages"
  (cd www && npm ci --no-audit --no-fund && cp package-lock.json node_modules/.lock-copy)
fi
log "ok"
