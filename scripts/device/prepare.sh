#!/usr/bin/env bash
# Fills .gpu/ (ignored) with what a lent NVIDIA machine needs to train: native-train built with
# the Vulkan backends (burn's `cuda` cannot be built without reaching GitHub: cubecl-cuda 0.11
# downloads LLVM at build time), stripped and xz-compressed to fit the device tool's 64 MiB, the
# MedSeg training folder, and the Vulkan loader + libglvnd packages a bare machine lacks.
# Then, from the device tool: run `bash scripts/device/train.sh NAME ARGS…` with carry [".gpu"].
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.gpu/' .git/info/exclude || echo '/.gpu/' >> .git/info/exclude
mkdir -p .gpu/medseg .gpu/debs /tmp/lungseg-amd64/partial
cargo build --release -p native-train --features vulkan,wgpu --target-dir "${GPU_TARGET_DIR:-target/gpu}"
cp "${GPU_TARGET_DIR:-target/gpu}/release/native-train" .gpu/native-train
strip .gpu/native-train
rm -f .gpu/native-train.xz && xz -T2 -6 .gpu/native-train
cp "${LUNGSEG_SHARED_DATA:-../shared/data}"/medseg/train/* .gpu/medseg/
o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/lungseg-amd64)
apt-get "${o[@]}" update > /dev/null
(cd .gpu/debs && apt-get "${o[@]}" download libvulkan1 libglvnd0 libegl1 libgl1 libglx0 libopengl0 libgles2 2>&1 | grep -v '^W:' || true)
du -sh .gpu
