#!/usr/bin/env bash
# Builds the wasm package (WebGPU + flex fallback) into www/pkg and the TypeScript into www/dist.
set -euo pipefail
cd "$(dirname "$0")/.."
wasm-pack build --target web --release --mode no-install --no-pack --out-dir www/pkg --out-name lungseg .
(cd www && npx tsc -p tsconfig.json)
