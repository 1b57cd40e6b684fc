#!/usr/bin/env bash
# Installs the Debian packages myriad builds with. Idempotent: checks with
# dpkg first and stays quiet when everything is already present.
set -euo pipefail

packages=(
  cmake gcc g++ pkg-config
  libck-dev          # concurrencykit: atomics, backoff, event counts
  libsimde-dev       # SIMD kernels, header only
  libbenchmark-dev   # Google Benchmark, for bench/
  libcmocka-dev      # unit tests
  librandom123-dev   # Philox, for random numbers per entity (headers only)
  libxxhash-dev      # XXH3-64 checksums of snapshot sections (used inlined)
  libzstd-dev        # compressed snapshot sections
  clang libclang-rt-14-dev  # sanitizer runtimes for the asan/tsan presets
  libgomp1           # OpenMP runtime: fib(30) reference in bench/
  jq                 # reads myriad-tune's JSON in the CLI test
  clang-format       # tools/format.sh: the test command checks the formatting
  dpkg-dev file      # cpack -G DEB: dpkg-shlibdeps finds the package's Depends, file the ELF files
  libwebsockets-dev  # the live view's server (src/serve, myriad-tune --serve); optional: without it the server is not built
  curl               # fetches the web client's files from the server in serve_cli.sh
  chromium           # the web client's browser tests (headless, driven by npm playwright-core)
  libopenmpi-dev openmpi-bin  # scale-out over ranks (src/mpi, myriad-tune-mpi); optional: without it the MPI part is not built
  procps             # pgrep: the MPI test finds a rank to kill
)

# Node.js runs the web client's tests (its decoder, and playwright-core
# driving chromium); Debian's nodejs and npm when the machine has none.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg -s "$p" >/dev/null 2>&1 || ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$p")
  fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
$SUDO apt-get update -q >/dev/null
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
