#!/usr/bin/env bash
# Builds the libFuzzer target tests/fuzz/fuzz_world.c with clang (libFuzzer,
# AddressSanitizer, UndefinedBehaviorSanitizer) straight from the library's
# sources, and runs it from the seed corpus for a bounded time.
#   run_fuzz.sh SOURCE_DIR WORK_DIR SECONDS
# Exit status: 0 when the time ran out with no crash, leak, sanitizer report
# or model disagreement; the failing input is then left in WORK_DIR.
set -euo pipefail
src=$1 work=$2 seconds=${3:-60}
mkdir -p "$work/new"
# the library's sources, one folder per part, each with its private headers
# and an iface/ folder of what it offers the parts above
part_dirs=()
for d in "$src"/src/*/ "$src"/src/*/iface/; do part_dirs+=("-I$d"); done
clang -std=c11 -O1 -g -ffp-contract=off -fwrapv -D_POSIX_C_SOURCE=200809L -DMYR_FUZZ \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I"$src/include" "${part_dirs[@]}" \
  "$src/tests/fuzz/fuzz_world.c" "$src"/src/*/*.c \
  $(pkg-config --cflags --libs ck libzstd) -lpthread -o "$work/fuzz_world"
# new inputs go to a scratch directory; the committed corpus is only read
exec "$work/fuzz_world" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
  -artifact_prefix="$work/" -print_final_stats=1 "$work/new" "$src/tests/fuzz/corpus"
