#!/usr/bin/env bash
# What the aarch64 preset needs: the cross compiler and qemu-user from
# Debian, and the arm64 builds of concurrencykit, cmocka and zstd unpacked
# into a sysroot of their own (build/sysroot-aarch64). Unpacked, not installed:
# Debian's libck0 cannot be installed for two architectures at once, and the
# host's amd64 packages stay as they are. Idempotent and quiet when done.
set -euo pipefail
cd "$(dirname "$0")/.."
sysroot=build/sysroot-aarch64
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

packages=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user libsimde-dev librandom123-dev libxxhash-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
done
need_arm64=0
dpkg --print-foreign-architectures | grep -qx arm64 || need_arm64=1
have_sysroot=0
[ -f "$sysroot/usr/lib/aarch64-linux-gnu/libck.a" ] && [ -f "$sysroot/usr/lib/aarch64-linux-gnu/libcmocka.so.0" ] &&
  [ -e "$sysroot/usr/include/simde" ] && [ -e "$sysroot/usr/include/Random123" ] &&
  [ -e "$sysroot/usr/include/xxhash.h" ] && [ -f "$sysroot/usr/lib/aarch64-linux-gnu/libzstd.so.1" ] && have_sysroot=1
[ ${#missing[@]} -eq 0 ] && [ $have_sysroot -eq 1 ] && exit 0

echo "setup_aarch64: cross compiler, qemu-user and an arm64 sysroot" >&2
[ $need_arm64 -eq 1 ] && $SUDO dpkg --add-architecture arm64
if [ ${#missing[@]} -ne 0 ] || [ $need_arm64 -eq 1 ] || [ $have_sysroot -eq 0 ]; then
  $SUDO apt-get update -q >/dev/null
fi
[ ${#missing[@]} -ne 0 ] &&
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
debs=$(mktemp -d)
trap 'rm -rf "$debs"' EXIT
chown _apt "$debs" 2>/dev/null || true # apt's download user writes there
if ! (cd "$debs" && apt-get download -q libck0:arm64 libck-dev:arm64 libcmocka0:arm64 libcmocka-dev:arm64 \
  libzstd1:arm64 libzstd-dev:arm64 >/dev/null 2>"$debs/err"); then
  echo "setup_aarch64: apt-get download of the arm64 ck, cmocka and zstd failed:" >&2
  cat "$debs/err" >&2
  exit 1
fi
mkdir -p "$sysroot"
for d in "$debs"/*.deb; do dpkg -x "$d" "$sysroot"; done
[ -f "$sysroot/usr/lib/aarch64-linux-gnu/libck.a" ] || { echo "setup_aarch64: no arm64 libck" >&2; exit 1; }
# SIMDe is headers for every architecture: the host's, seen from the sysroot
# (its /usr/include holds nothing else of the host's)
ln -sfn /usr/include/simde "$sysroot/usr/include/simde"
ln -sfn /usr/include/Random123 "$sysroot/usr/include/Random123" # headers only too
ln -sfn /usr/include/xxhash.h "$sysroot/usr/include/xxhash.h"   # used inlined: the header is all
