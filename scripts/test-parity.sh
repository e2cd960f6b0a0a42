#!/usr/bin/env bash
# Optional test group: burn against the PyTorch reference (py/), on real MedSeg slices, for the
# lite preset with random and with shipped weights and the paper preset with random weights.
# Installs PyTorch (CPU use; the PyPI wheel is several GB) into a virtual environment once.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${LUNGSEG_TORCH_VENV:-$HOME/.cache/lungseg-torch}"
if ! "$VENV/bin/python" -c "import torch, safetensors, numpy, packaging" 2>/dev/null; then
  echo "parity: installing PyTorch into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r py/requirements.txt
fi
cargo build --release -p native-train
OUT=target/parity
run() {
  local name=$1; shift
  echo; echo "=== parity: $name"
  ./target/release/native-train parity "$@" --out "$OUT/$name"
  "$VENV/bin/python" py/parity.py "$OUT/$name"
}
run lite-random --preset lite --weights random
run lite-shipped --weights www/model/lite.lungseg
run paper-random --preset paper --weights random
echo; echo "parity: all checks passed"
