#!/usr/bin/env bash
# Makes the Debian package: configures a build for it (library, myriad-tune
# and myriad-snap only; prefix /usr, so the libraries go to the multiarch
# directory; BUILD_SHARED_LIBS=ON, so find_package's myriad::myriad is the
# shared library, as pkg-config's -lmyriad is; MYR_SIMD_NATIVE=OFF, so
# myriad-tune runs on any CPU of the architecture), builds it and runs
# `cpack -G DEB`. The .deb lands in BUILD_DIR/deb and its path is printed.
# Further arguments go to the cmake configure step.
# Usage: tools/package.sh [BUILD_DIR [CMAKE_ARG...]]   (BUILD_DIR: build/package)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build/package}
shift || true
mkdir -p "$build"
build=$(cd "$build" && pwd)
cmake -S "$src" -B "$build" "$@" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_SHARED_LIBS=ON \
  -DMYR_SIMD_NATIVE=OFF -DMYR_BUILD_TOOLS=ON \
  -DMYR_BUILD_TESTS=OFF -DMYR_BUILD_BENCH=OFF -DMYR_BUILD_EXAMPLES=OFF >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log" >&2; exit 1; }
cmake --build "$build" --parallel 2 >"$build/build.log" 2>&1 || { cat "$build/build.log" >&2; exit 1; }
rm -rf "$build/deb"
(cd "$build" && cpack -G DEB -B "$build/deb" >"$build/cpack.log" 2>&1) || { cat "$build/cpack.log" >&2; exit 1; }
ls "$build"/deb/*.deb
