#!/usr/bin/env bash
# The test command: installs what is missing, then builds and runs the whole
# test suite in the release, asan (AddressSanitizer + UBSan) and tsan
# (ThreadSanitizer) presets, and the aarch64 cross build's tests under
# qemu-user (label aarch64: unit, determinism and stress, with the same
# pinned world hashes as x86-64), after checking that every source file is
# formatted (tools/format.sh --check). Pass preset names to run only those.
# The release preset also checks what is installed: the release build's
# install (static and shared library, myriad::myriad static) and a package
# build's (tools/package.sh: myriad::myriad shared), each consumed with
# find_package and pkg-config and checked with nm; and the .deb that the
# package build makes, installed with dpkg -i, consumed from /usr and purged
# (CTest label package; the dpkg part needs root and is skipped without it).
# The web client's tests (label web) run its decoder under Node against
# streams the C encoder recorded, and the page in headless chromium against
# a running myriad-tune --serve; npm ci installs their packages in web/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
echo "== npm ci (web/: the web client's test packages)"
(cd web && npm ci --no-audit --no-fund --loglevel=error)
echo "== tools/format.sh --check"
bash tools/format.sh --check
presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(release asan tsan aarch64)
for p in "${presets[@]}"; do
  [ "$p" = aarch64 ] && bash tools/setup_aarch64.sh
  echo "== cmake --workflow --preset $p"
  cmake --workflow --preset "$p"
done
