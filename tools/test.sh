#!/usr/bin/env bash
# The test command: installs what is missing, then builds and runs the whole
# test suite in the release, asan (AddressSanitizer + UBSan) and tsan
# (ThreadSanitizer) presets, and the aarch64 cross build's tests under
# qemu-user (label aarch64: unit, determinism and stress, with the same
# pinned world hashes as x86-64). Pass preset names to run only those.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(release asan tsan aarch64)
for p in "${presets[@]}"; do
  [ "$p" = aarch64 ] && bash tools/setup_aarch64.sh
  echo "== cmake --workflow --preset $p"
  cmake --workflow --preset "$p"
done
