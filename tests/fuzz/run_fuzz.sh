#!/usr/bin/env bash
# Builds a libFuzzer target, tests/fuzz/TARGET.c, with clang (libFuzzer,
# AddressSanitizer, UndefinedBehaviorSanitizer) straight from the library's
# sources, and runs it from its seed corpus for a bounded time.
#   run_fuzz.sh SOURCE_DIR WORK_DIR SECONDS [TARGET]
# TARGET: fuzz_world (the default; corpus tests/fuzz/corpus) or
# fuzz_snapshot (corpus tests/fuzz/corpus_snapshot) or fuzz_serve_parse
# (corpus tests/fuzz/corpus_serve_parse).
# Exit status: 0 when the time ran out with no crash, leak, sanitizer report
# or model disagreement; the failing input is then left in WORK_DIR.
set -euo pipefail
src=$1 work=$2 seconds=${3:-60} target=${4:-fuzz_world}
corpus="$src/tests/fuzz/corpus"
[ "$target" = fuzz_world ] || corpus="$src/tests/fuzz/corpus_${target#fuzz_}"
work="$work/$target"
mkdir -p "$work/new"
# the library's sources, one folder per part, each with its private headers
# and an iface/ folder of what it offers the parts above
part_dirs=()
for d in "$src"/src/*/ "$src"/src/*/iface/; do part_dirs+=("-I$d"); done
# every part but the server and the MPI part (they need libwebsockets and
# MPI); fuzz_serve_parse takes the server's parser alone
sources=()
for f in "$src"/src/*/*.c; do
  case $f in "$src"/src/serve/* | "$src"/src/mpi/*) ;; *) sources+=("$f") ;; esac
done
[ "$target" = fuzz_serve_parse ] && sources=("$src/src/serve/parse.c")
clang -std=c11 -O1 -g -ffp-contract=off -fwrapv -D_POSIX_C_SOURCE=200809L -DMYR_FUZZ \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I"$src/include" "${part_dirs[@]}" \
  "$src/tests/fuzz/$target.c" "${sources[@]}" \
  $(pkg-config --cflags --libs ck libzstd) -lpthread -o "$work/$target"
# new inputs go to a scratch directory; the committed corpus is only read
exec "$work/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
  -artifact_prefix="$work/" -print_final_stats=1 "$work/new" "$corpus"
