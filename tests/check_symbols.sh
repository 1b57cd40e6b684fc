#!/usr/bin/env bash
# Installs the build tree into a scratch prefix and checks that every global
# symbol the installed libraries define starts with myr_: the static archive
# (nm -g --defined-only: T, D, B, R, W, ...) and, in a shared build, the
# dynamic symbols of the shared library (nm -D --defined-only). Undefined
# symbols (U, and weak references w/v to libc) are not ours and are ignored.
# Args: BUILD_DIR [NM]
set -euo pipefail
build=$1
nm=${2:-nm}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build" --prefix "$scratch/prefix" >/dev/null

shopt -s nullglob
libs=("$scratch"/prefix/lib*/libmyriad.a "$scratch"/prefix/lib*/*/libmyriad.a
      "$scratch"/prefix/lib*/libmyriad.so* "$scratch"/prefix/lib*/*/libmyriad.so*)
if [ ${#libs[@]} -eq 0 ]; then
  echo "no libmyriad.a or libmyriad.so installed under $scratch/prefix" >&2
  exit 1
fi

status=0
checked=0
for lib in "${libs[@]}"; do
  [ -L "$lib" ] && continue # the .so symlinks name the same file
  case $lib in
    *.a) out=$("$nm" -g --defined-only "$lib") ;;
    *) out=$("$nm" -D --defined-only "$lib") ;;
  esac
  # lines are "value type name"; archive member headers ("x.o:") and blank
  # lines have fewer fields
  bad=$(awk 'NF >= 3 && $3 !~ /^myr_/ { print "  " $2 " " $3 }' <<<"$out")
  good=$(awk 'NF >= 3 && $3 ~ /^myr_/' <<<"$out" | wc -l)
  name=${lib#"$scratch/prefix/"}
  if [ -n "$bad" ]; then
    echo "$name: $(wc -l <<<"$bad") global symbol(s) without the myr_ prefix:"
    echo "$bad"
    status=1
  elif [ "$good" -eq 0 ]; then
    echo "$name: no myr_ symbols at all (is this the right library?)"
    status=1
  else
    echo "$name: $good global symbols, all myr_"
  fi
  checked=$((checked + 1))
done
[ "$checked" -gt 0 ] || { echo "nothing checked" >&2; exit 1; }
exit $status
