#!/usr/bin/env bash
# Installs the build tree into a scratch prefix and checks the libraries it
# installs, the static archive and the shared library (every build installs
# both):
#   - every global symbol they define starts with myr_: for the archive
#     nm -g --defined-only (T, D, B, R, W, ...), for the shared library its
#     dynamic symbols, nm -D --defined-only. Undefined symbols (U, and weak
#     references w/v to libc) are not ours and are ignored;
#   - they define every function the installed headers declare MYR_API (the
#     public API: myr_world_create, ...);
#   - the shared library's SONAME is libmyriad.so.MAJOR.MINOR while the
#     major version (status.h) is 0, libmyriad.so.MAJOR from 1 on.
# Args: BUILD_DIR [NM]
set -euo pipefail
build=$1
nm=${2:-nm}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
prefix=$scratch/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null

shopt -s nullglob
archives=("$prefix"/lib*/libmyriad.a "$prefix"/lib*/*/libmyriad.a)
shared=()
for so in "$prefix"/lib*/libmyriad.so* "$prefix"/lib*/*/libmyriad.so*; do
  [ -L "$so" ] || shared+=("$so") # the .so symlinks name the same file
done
status=0
[ ${#archives[@]} -eq 1 ] || { echo "expected one libmyriad.a under the prefix, found ${#archives[@]}"; status=1; }
[ ${#shared[@]} -eq 1 ] || { echo "expected one libmyriad.so under the prefix, found ${#shared[@]}"; status=1; }

# the public API: the names the installed headers declare MYR_API
# (serve.h's and mpi.h's functions are in libmyriad_serve.a and
# libmyriad_mpi.a, libraries of their own)
headers=()
for h in "$prefix"/include/myriad/*.h; do
  case ${h##*/} in serve.h | mpi.h) ;; *) headers+=("$h") ;; esac
done
[ ${#headers[@]} -gt 0 ] || { echo "no headers installed under $prefix/include/myriad"; exit 1; }
api=$(grep -ho 'MYR_API[^(]*(' "${headers[@]}" | grep -o 'myr_[A-Za-z0-9_]*($' | tr -d '(' | sort -u)
api_count=$(wc -l <<<"$api")
grep -qx myr_world_create <<<"$api" || { echo "myr_world_create is not among the MYR_API declarations"; exit 1; }

for lib in "${archives[@]}" "${shared[@]}"; do
  case $lib in
    *.a) out=$("$nm" -g --defined-only "$lib") ;;
    *) out=$("$nm" -D --defined-only "$lib") ;;
  esac
  name=${lib#"$prefix/"}
  # lines are "value type name"; archive member headers ("x.o:") and blank
  # lines have fewer fields
  bad=$(awk 'NF >= 3 && $3 !~ /^myr_/ { print "  " $2 " " $3 }' <<<"$out")
  defined=$(awk 'NF >= 3 && $3 ~ /^myr_/ { print $3 }' <<<"$out" | sort -u)
  missing=$(comm -23 <(echo "$api") <(echo "$defined"))
  if [ -n "$bad" ]; then
    echo "$name: $(wc -l <<<"$bad") global symbol(s) without the myr_ prefix:"
    echo "$bad"
    status=1
  fi
  if [ -n "$missing" ]; then
    echo "$name: $(wc -l <<<"$missing") of the $api_count MYR_API functions not defined:"
    sed 's/^/  /' <<<"$missing"
    status=1
  fi
  if [ -z "$bad" ] && [ -z "$missing" ]; then
    echo "$name: $(wc -l <<<"$defined") global symbols, all myr_, all $api_count MYR_API functions among them"
  fi
done

# the archives of their own, when built: myr_ names only, and their
# header's API (the server's: serve.h; the MPI part's: mpi.h)
check_archive() { # NAME HEADER
  local lib out bad api missing
  for lib in "$prefix"/lib*/"$1" "$prefix"/lib*/*/"$1"; do
    out=$("$nm" -g --defined-only "$lib")
    bad=$(awk 'NF >= 3 && $3 !~ /^myr_/ { print "  " $2 " " $3 }' <<<"$out")
    api=$(grep -ho 'MYR_API[^(]*(' "$prefix/include/myriad/$2" | grep -o 'myr_[A-Za-z0-9_]*($' | tr -d '(' | sort -u)
    missing=$(comm -23 <(echo "$api") <(awk 'NF >= 3 && $3 ~ /^myr_/ { print $3 }' <<<"$out" | sort -u))
    if [ -n "$bad" ] || [ -n "$missing" ]; then
      echo "${lib#"$prefix/"}: global symbols without the myr_ prefix:${bad:+$'\n'$bad}; $2 functions missing: ${missing:-none}"
      status=1
    else
      echo "${lib#"$prefix/"}: all global symbols myr_, all of $2's functions among them"
    fi
  done
}
check_archive libmyriad_serve.a serve.h
check_archive libmyriad_mpi.a mpi.h

# the SONAME says which ABI: MAJOR.MINOR while MAJOR is 0
if [ ${#shared[@]} -eq 1 ]; then
  major=$(sed -n 's/^#define MYR_VERSION_MAJOR \([0-9]*\).*/\1/p' "$prefix/include/myriad/status.h")
  minor=$(sed -n 's/^#define MYR_VERSION_MINOR \([0-9]*\).*/\1/p' "$prefix/include/myriad/status.h")
  if [ "$major" = 0 ]; then want=libmyriad.so.$major.$minor; else want=libmyriad.so.$major; fi
  soname=$(readelf -d "${shared[0]}" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  if [ "$soname" = "$want" ]; then
    echo "${shared[0]#"$prefix/"}: SONAME $soname (version $major.$minor)"
  else
    echo "${shared[0]#"$prefix/"}: SONAME '$soname', expected $want (version $major.$minor)"
    status=1
  fi
fi
exit $status
