#!/usr/bin/env bash
# Configures and builds frugal (Release) into ./build. Extra arguments go to
# CMake's configure step, e.g. -DFRUGAL_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${FRUGAL_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" > /dev/null
cmake --build "$build_dir" --parallel "$(nproc)"
