#!/usr/bin/env bash
# Installs what is missing, builds the page and serves www/ on http://localhost:${PORT:-8080}.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-web.sh
exec node www/serve.mjs
