#!/usr/bin/env bash
# Installs the build tree into a scratch prefix and builds a consumer against
# it (tests/consumer) with find_package(myriad) and with pkg-config, then runs
# each program and checks which library it links: consumer_static the static
# one, consumer_shared and consumer_pc (-lmyriad) the shared one from the
# scratch prefix, consumer_cmake (myriad::myriad) the one the build made the
# default (BUILD_SHARED_LIBS in its cache). Args: BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
prefix=$scratch/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
pc=$(find "$prefix" -name myriad.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || { echo "no myriad.pc installed under $prefix" >&2; exit 1; }
libdir=$(dirname "$(dirname "$pc")")

# the default library: the build's BUILD_SHARED_LIBS
case $(sed -n 's/^BUILD_SHARED_LIBS:[A-Z]*=//p' "$build/CMakeCache.txt" | tr a-z A-Z) in
  ON | 1 | TRUE | YES | Y) default=shared ;;
  *) default=static ;;
esac

# only the scratch prefix: nothing from the environment's prefixes
unset CMAKE_PREFIX_PATH PKG_CONFIG_LIBDIR
PKG_CONFIG_PATH="$libdir/pkgconfig" \
  cmake -S "$src/tests/consumer" -B "$scratch/consumer" -DCMAKE_PREFIX_PATH="$prefix" >"$scratch/configure.log" 2>&1 ||
  { cat "$scratch/configure.log"; exit 1; }
found=$(sed -n 's/^myriad_DIR:PATH=//p' "$scratch/consumer/CMakeCache.txt")
[ "$found" = "$libdir/cmake/myriad" ] ||
  { echo "find_package found myriad in $found, not in the scratch prefix" >&2; exit 1; }
cmake --build "$scratch/consumer" >"$scratch/build.log" 2>&1 || { cat "$scratch/build.log"; exit 1; }

# consumer_pc has no rpath to the scratch prefix; the others have one
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
status=0
for prog in consumer_cmake consumer_static consumer_shared consumer_pc; do
  case $prog in
    consumer_cmake) want=$default ;;
    consumer_static) want=static ;;
    *) want=shared ;;
  esac
  bin=$scratch/consumer/$prog
  if readelf -d "$bin" | grep -q 'NEEDED.*\[libmyriad\.so'; then
    got=shared
    so=$(ldd "$bin" | awk '$1 ~ /^libmyriad\.so/ { print $3 }')
    case $so in
      "$libdir"/*) ;;
      *) echo "$prog: libmyriad resolves to '$so', not to the scratch prefix" >&2; status=1; continue ;;
    esac
  else
    got=static
  fi
  if [ "$got" != "$want" ]; then
    echo "$prog: linked the $got library, expected the $want one" >&2
    status=1
    continue
  fi
  out=$("$bin") || { echo "$prog ($got) failed: $out" >&2; status=1; continue; }
  echo "$prog ($got): $out"
done
exit $status
