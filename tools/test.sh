#!/usr/bin/env bash
# The test command: installs what is missing, then builds and runs the whole
# test suite in the release, asan (AddressSanitizer + UBSan) and tsan
# (ThreadSanitizer) presets. Pass preset names to run only those.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(release asan tsan)
for p in "${presets[@]}"; do
  echo "== cmake --workflow --preset $p"
  cmake --workflow --preset "$p"
done
