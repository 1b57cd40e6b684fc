#!/usr/bin/env bash
# Installs the Debian package that tools/package.sh made (BUILD_DIR/deb) with
# dpkg -i, builds tests/consumer against the system install (find_package and
# pkg-config, nothing but the default paths), runs the consumers,
# myriad-tune and myriad-snap from /usr, and purges the package again (dpkg
# -P), on failure too. Needs root: exits 77 (skipped) otherwise. Refuses to
# start when a myriad package is installed already, rather than remove it.
# Args: BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
if [ "$(id -u)" -ne 0 ]; then
  echo "skipped: dpkg -i needs root"
  exit 77
fi
shopt -s nullglob
debs=("$build"/deb/myriad_*.deb)
[ ${#debs[@]} -eq 1 ] || { echo "expected one myriad_*.deb in $build/deb, found ${#debs[@]}" >&2; exit 1; }
deb=${debs[0]}

# One package test at a time on this machine (other work trees' test runs
# too): the second waits here, and then finds no package installed.
exec 9>/run/lock/myriad-deb-test.lock
flock -w 600 9 || { echo "another deb test has held /run/lock/myriad-deb-test.lock for 10 minutes" >&2; exit 1; }

state=$(dpkg-query -W -f='${db:Status-Status}' myriad 2>/dev/null || true)
if [ -n "$state" ] && [ "$state" != not-installed ]; then
  echo "a myriad package is on this machine already (dpkg status: $state, version" \
       "$(dpkg-query -W -f='${Version}' myriad)). This test installs its own and purges it" \
       "afterwards, which would remove that one: it stops instead. Remove it first" \
       "(dpkg -P myriad) if it is a leftover." >&2
  exit 1
fi

scratch=$(mktemp -d)
installed=0
cleanup() {
  status=$?
  if [ $installed -eq 1 ]; then
    dpkg -P myriad >"$scratch/purge.log" 2>&1 || { cat "$scratch/purge.log" >&2; status=1; }
    if dpkg-query -W -f='${db:Status-Status}' myriad 2>/dev/null | grep -qv not-installed; then
      echo "myriad is still known to dpkg after dpkg -P" >&2
      status=1
    fi
    # none of the package's files is left (directories may be shared)
    while read -r f; do
      if [ -e "$f" ] || [ -L "$f" ]; then [ -d "$f" ] || { echo "left behind: $f" >&2; status=1; }; fi
    done <"$scratch/files"
  fi
  rm -rf "$scratch"
  exit $status
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# the package's files: none may be there already (dpkg -i would overwrite a
# file no package owns, and dpkg -P then delete it)
dpkg-deb -c "$deb" | awk '{ print substr($6, 2) }' >"$scratch/files" # ./usr/... -> /usr/...
while read -r f; do
  if { [ -e "$f" ] || [ -L "$f" ]; } && [ ! -d "$f" ]; then
    echo "$f is on this machine already (installed by hand?): the package would overwrite it" \
         "and purging it would delete it; remove it first" >&2
    exit 1
  fi
done <"$scratch/files"

installed=1 # from here on, a failure purges: dpkg -i may stop half way
dpkg -i "$deb" >"$scratch/install.log" 2>&1 || { cat "$scratch/install.log" >&2; exit 1; }
echo "installed $(dpkg-query -W -f='${Package} ${Version} ${Architecture}' myriad)"

# where the package put things: the multiarch library directory
cmake_dir=$(dpkg -L myriad | grep '/cmake/myriad$')
libdir=${cmake_dir%/cmake/myriad}
pc_dir=$libdir/pkgconfig

# the system install only: none of the environment's prefixes and paths
unset CMAKE_PREFIX_PATH PKG_CONFIG_PATH PKG_CONFIG_LIBDIR LD_LIBRARY_PATH
cmake -S "$src/tests/consumer" -B "$scratch/consumer" >"$scratch/configure.log" 2>&1 ||
  { cat "$scratch/configure.log" >&2; exit 1; }
found=$(sed -n 's/^myriad_DIR:PATH=//p' "$scratch/consumer/CMakeCache.txt")
[ "$found" = "$cmake_dir" ] || { echo "find_package found myriad in $found, not in $cmake_dir" >&2; exit 1; }
[ "$(pkg-config --variable=pcfiledir myriad)" = "$pc_dir" ] ||
  { echo "pkg-config found myriad.pc in $(pkg-config --variable=pcfiledir myriad), not in $pc_dir" >&2; exit 1; }
cmake --build "$scratch/consumer" >"$scratch/build.log" 2>&1 || { cat "$scratch/build.log" >&2; exit 1; }

# the package's default (tools/package.sh: BUILD_SHARED_LIBS=ON) is the
# shared library; pkg-config's -lmyriad finds it too
for prog in consumer_cmake consumer_static consumer_shared consumer_pc; do
  bin=$scratch/consumer/$prog
  [ $prog = consumer_static ] && want=static || want=shared
  if readelf -d "$bin" | grep -q 'NEEDED.*\[libmyriad\.so'; then
    got=shared
    so=$(ldd "$bin" | awk '$1 ~ /^libmyriad\.so/ { print $3 }')
    # (with merged /usr, ld.so's cache may say /lib for /usr/lib)
    [ "$(dirname "$(readlink -f "$so")")" = "$(readlink -f "$libdir")" ] ||
      { echo "$prog: libmyriad resolves to '$so', not into $libdir" >&2; exit 1; }
  else
    got=static
  fi
  [ $got = $want ] || { echo "$prog: linked the $got library, expected the $want one" >&2; exit 1; }
  out=$("$bin") || { echo "$prog ($got) failed: $out" >&2; exit 1; }
  echo "$prog ($got): $out"
done

# the tuner, from /usr/bin with the system's libmyriad
tune=$(command -v myriad-tune) || { echo "myriad-tune is not on the PATH" >&2; exit 1; }
[ "$tune" = /usr/bin/myriad-tune ] || { echo "myriad-tune is $tune, not /usr/bin/myriad-tune" >&2; exit 1; }
help=$("$tune" --help) || { echo "myriad-tune --help failed" >&2; exit 1; }
grep -q particles <<<"$help" || { echo "myriad-tune --help does not list the scenarios" >&2; exit 1; }
"$tune" --scenario particles --entities 2000 --threads 1 --chunk 256 --frames 2 --warmup 0 --format json \
  >"$scratch/tune.json" || { echo "myriad-tune failed" >&2; exit 1; }
echo "myriad-tune: a run of the particles scenario, $(wc -c <"$scratch/tune.json") bytes of JSON"

# myriad-snap beside it, with the system's libmyriad
snap=$(command -v myriad-snap) || { echo "myriad-snap is not on the PATH" >&2; exit 1; }
[ "$snap" = /usr/bin/myriad-snap ] || { echo "myriad-snap is $snap, not /usr/bin/myriad-snap" >&2; exit 1; }
"$snap" --help | grep -q "verify FILE" || { echo "myriad-snap --help failed" >&2; exit 1; }
echo "myriad-snap: $("$snap" --version)"
